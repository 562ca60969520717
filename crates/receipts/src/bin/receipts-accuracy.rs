//! Measures the readers on the generated test set (`scripts/receipts/make-set.py`): field
//! accuracy per set and reader, as a Markdown table, against the goals of `docs/receipts.md`.
//!
//! ```text
//! receipts-accuracy SET_DIR [--check docs/receipts.md] [--write docs/receipts.md]
//! ```
//!
//! Exits 1 when a goal is missed, or when `--check`'s file does not hold this exact table
//! (the set is fixed, so the table is too). The reading times are printed, not checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use anyhow::Context;
use outlay_app::ports::ReceiptReader;
use outlay_domain::ReceiptType;
use outlay_domain::reading::{ReadFields, Reader};
use outlay_receipts::{EinvoiceReader, TesseractReader};
use rust_decimal::Decimal;

const BEGIN: &str = "<!-- accuracy:begin -->";
const END: &str = "<!-- accuracy:end -->";

/// The goals: the least share of totals and of dates exactly right, per set.
const GOALS: [(&str, f64); 3] = [("clean", 0.95), ("noisy", 0.85), ("einvoice", 1.0)];

#[derive(Default)]
struct Tally {
    n: usize,
    readers: BTreeMap<&'static str, usize>,
    right: BTreeMap<&'static str, usize>,
    millis: Vec<u128>,
}

fn same_text(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    norm(a) == norm(b)
}

fn score(read: &ReadFields, truth: &serde_json::Value) -> Vec<&'static str> {
    let t = |k: &str| truth[k].as_str().unwrap_or_default();
    let dec = |s: &str| Decimal::from_str(s).ok();
    let mut right = Vec::new();
    let total = read.total.as_ref().map(|f| f.value) == dec(t("total"));
    let date = read.date.as_ref().map(|f| f.value.to_string()).as_deref() == Some(t("date"));
    if total {
        right.push("total");
    }
    if date {
        right.push("date");
    }
    if total && date {
        right.push("total & date");
    }
    if read.currency.as_ref().map(|f| f.value.code()) == Some(t("currency")) {
        right.push("currency");
    }
    if read.tax.as_ref().map(|f| f.value) == dec(t("tax")) {
        right.push("tax");
    }
    if read
        .merchant
        .as_ref()
        .is_some_and(|f| same_text(&f.value, t("merchant")))
    {
        right.push("merchant");
    }
    right
}

const COLUMNS: [&str; 6] = [
    "total",
    "date",
    "total & date",
    "currency",
    "tax",
    "merchant",
];

fn table(tallies: &BTreeMap<String, Tally>) -> String {
    let mut out = String::from("| set | receipts | read by |");
    for c in COLUMNS {
        out.push_str(&format!(" {c} |"));
    }
    out.push_str("\n|---|---:|---|");
    out.push_str(&"---:|".repeat(COLUMNS.len()));
    out.push('\n');
    for name in ["clean", "noisy", "einvoice", "pdf"] {
        let Some(t) = tallies.get(name) else { continue };
        let readers: Vec<String> = t.readers.iter().map(|(r, n)| format!("{r} {n}")).collect();
        out.push_str(&format!("| {name} | {} | {} |", t.n, readers.join(", ")));
        for c in COLUMNS {
            let r = t.right.get(c).copied().unwrap_or(0);
            out.push_str(&format!(" {r}/{} ({:.1} %) |", t.n, pct(r, t.n)));
        }
        out.push('\n');
    }
    out
}

fn pct(r: usize, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        100.0 * r as f64 / n as f64
    }
}

fn p50(mut v: Vec<u128>) -> u128 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().context("usage: receipts-accuracy SET_DIR")?);
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(PathBuf::from)
    };
    let manifest: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json"))?)?;
    let einvoice = EinvoiceReader;
    let ocr = TesseractReader::default();
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for entry in &manifest {
        let file = entry["file"].as_str().context("a file name")?;
        let group = entry["group"].as_str().context("a group")?.to_owned();
        let bytes = std::fs::read(dir.join(file))?;
        let kind = match Path::new(file).extension().and_then(|e| e.to_str()) {
            Some("pdf") => ReceiptType::Pdf,
            Some("png") => ReceiptType::Png,
            _ => ReceiptType::Jpeg,
        };
        let started = Instant::now();
        let read = match einvoice.read(kind, &bytes).await? {
            Some(read) => read,
            None => ocr
                .read(kind, &bytes)
                .await?
                .context("OCR reads everything")?,
        };
        let millis = started.elapsed().as_millis();
        let right = score(&read.fields, &entry["truth"]);
        let tally = tallies.entry(group).or_default();
        tally.n += 1;
        let reader = match read.reader {
            Reader::Einvoice => "einvoice",
            Reader::Tesseract => "tesseract",
            Reader::Textract => "textract",
        };
        *tally.readers.entry(reader).or_default() += 1;
        for r in &right {
            *tally.right.entry(r).or_default() += 1;
        }
        tally.millis.push(millis);
        if right.len() < COLUMNS.len() {
            eprintln!(
                "{file}: right {right:?}; read total {:?} date {:?} tax {:?} merchant {:?}",
                read.fields.total.map(|f| (f.value, f.source)),
                read.fields.date.map(|f| (f.value, f.source)),
                read.fields.tax.map(|f| f.value),
                read.fields.merchant.map(|f| f.value),
            );
        }
    }
    let table = table(&tallies);
    print!("{table}");
    for (name, t) in &tallies {
        println!(
            "{name}: p50 {} ms, slowest {} ms",
            p50(t.millis.clone()),
            t.millis.iter().max().unwrap_or(&0)
        );
    }
    // The benchmark: reading an image, against bare Tesseract (English, its default layout
    // analysis, no rules) on the same clean images in the same run.
    let mut bare = Vec::new();
    for entry in manifest.iter().filter(|e| e["group"] == "clean") {
        let file = dir.join(entry["file"].as_str().unwrap_or_default());
        let started = Instant::now();
        let out = std::process::Command::new("tesseract")
            .arg(&file)
            .arg("stdout")
            .env("OMP_THREAD_LIMIT", "1")
            .output()?;
        anyhow::ensure!(out.status.success(), "bare tesseract failed");
        bare.push(started.elapsed().as_millis());
    }
    let (ours, base) = (p50(tallies["clean"].millis.clone()), p50(bare));
    println!(
        "benchmark: reading a clean image p50 {ours} ms; bare tesseract p50 {base} ms; ratio {:.2}",
        ours as f64 / base.max(1) as f64
    );
    let mut failed = false;
    for (name, goal) in GOALS {
        let t = tallies.get(name).context("a set of the goals is missing")?;
        for field in ["total", "date"] {
            let share = t.right.get(field).copied().unwrap_or(0) as f64 / t.n as f64;
            if share < goal {
                eprintln!(
                    "goal missed: {name} {field} {:.1} % < {:.0} %",
                    share * 100.0,
                    goal * 100.0
                );
                failed = true;
            }
        }
    }
    let marked = format!("{BEGIN}\n{table}{END}");
    if let Some(doc) = flag("--write") {
        let text = std::fs::read_to_string(&doc)?;
        let (head, rest) = text.split_once(BEGIN).context("no accuracy markers")?;
        let (_, tail) = rest.split_once(END).context("no end marker")?;
        std::fs::write(&doc, format!("{head}{marked}{tail}"))?;
    }
    if let Some(doc) = flag("--check")
        && !std::fs::read_to_string(&doc)?.contains(&marked)
    {
        eprintln!(
            "{} does not hold this table: run scripts/receipts-accuracy.sh --write",
            doc.display()
        );
        failed = true;
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}
