//! The table the code uses is the table the CloudFormation template declares.

#[test]
fn the_template_declares_the_keys_and_indexes_the_store_uses() {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/template.yaml"
    ))
    .expect("infra/template.yaml");
    let table = template
        .split("\n  Table:\n")
        .nth(1)
        .and_then(|t| t.split("\n  ReceiptsBucket:").next())
        .expect("the Table resource");
    for attribute in outlay_store_dynamodb::ATTRIBUTES {
        assert!(
            table.contains(&format!(
                "{{ AttributeName: {attribute}, AttributeType: S }}"
            )),
            "{attribute} is not declared"
        );
    }
    assert_eq!(
        table.matches("AttributeType:").count(),
        outlay_store_dynamodb::ATTRIBUTES.len(),
        "no extra attributes"
    );
    assert!(table.contains(
        "- { AttributeName: pk, KeyType: HASH }\n        - { AttributeName: sk, KeyType: RANGE }"
    ));
    for (name, pk, sk) in outlay_store_dynamodb::INDEXES {
        let declared = format!(
            "- IndexName: {name}\n          KeySchema: [{{ AttributeName: {pk}, KeyType: HASH }}, {{ AttributeName: {sk}, KeyType: RANGE }}]\n          Projection: {{ ProjectionType: ALL }}"
        );
        assert!(
            table.contains(&declared),
            "index {name} differs from the template"
        );
    }
    assert_eq!(
        table.matches("IndexName:").count(),
        outlay_store_dynamodb::INDEXES.len(),
        "no extra indexes"
    );
}
