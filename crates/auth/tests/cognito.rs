//! Cognito access tokens, issued by moto, verified by Outlay.
#![cfg(feature = "cognito")]

use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ExplicitAuthFlowsType};
use outlay_app::IdentityVerifier;
use outlay_auth::CognitoVerifier;
use outlay_domain::Role;
use outlay_test_support::moto::Moto;

#[tokio::test]
#[ignore = "needs moto_server: `bash .ci/run` runs it (cargo test -- --include-ignored)"]
async fn cognito_access_tokens_verify_with_their_groups_and_nothing_else_does() {
    let moto = Moto::start("cognito_access_tokens_verify_with_their_groups_and_nothing_else_does");
    let client = aws_sdk_cognitoidentityprovider::Client::from_conf(
        aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&moto.url)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .build(),
    );
    let pool = client
        .create_user_pool()
        .pool_name("outlay")
        .send()
        .await
        .expect("a pool")
        .user_pool()
        .and_then(|p| p.id())
        .expect("an id")
        .to_owned();
    let app = client
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("web")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .send()
        .await
        .expect("a client");
    let client_id = app
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("an id")
        .to_owned();
    client
        .create_group()
        .user_pool_id(&pool)
        .group_name("Finance")
        .send()
        .await
        .expect("a group");
    client
        .admin_create_user()
        .user_pool_id(&pool)
        .username("fay@example.com")
        .send()
        .await
        .expect("a user");
    client
        .admin_set_user_password()
        .user_pool_id(&pool)
        .username("fay@example.com")
        .password("Demo-password-1!")
        .permanent(true)
        .send()
        .await
        .expect("a password");
    client
        .admin_add_user_to_group()
        .user_pool_id(&pool)
        .username("fay@example.com")
        .group_name("Finance")
        .send()
        .await
        .expect("grouped");
    let auth = client
        .admin_initiate_auth()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", "fay@example.com")
        .auth_parameters("PASSWORD", "Demo-password-1!")
        .send()
        .await
        .expect("signed in");
    let result = auth.authentication_result().expect("tokens");
    let access = result.access_token().expect("an access token").to_owned();
    let id_token = result.id_token().expect("an id token").to_owned();

    let verifier =
        CognitoVerifier::new("us-east-1", &pool, &client_id, Some(&moto.url)).expect("a verifier");
    let verified = verifier
        .verify(&access)
        .await
        .expect("the access token verifies");
    let user = client
        .admin_get_user()
        .user_pool_id(&pool)
        .username("fay@example.com")
        .send()
        .await
        .expect("the user");
    let sub = user
        .user_attributes()
        .iter()
        .find(|a| a.name() == "sub")
        .and_then(|a| a.value())
        .expect("a sub");
    assert_eq!(verified.subject, sub);
    assert_eq!(verified.roles, Some(vec![Role::Finance]));

    // An id token, another client, a tampered token and garbage are all refused.
    assert!(
        verifier.verify(&id_token).await.is_err(),
        "id tokens are not access tokens"
    );
    let other = CognitoVerifier::new("us-east-1", &pool, "another-client", Some(&moto.url))
        .expect("a verifier");
    assert!(
        other.verify(&access).await.is_err(),
        "the client id is checked"
    );
    let mut parts: Vec<String> = access.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    assert!(verifier.verify(&parts.join(".")).await.is_err());
    assert!(verifier.verify("not-a-token").await.is_err());
}
