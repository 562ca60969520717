//! OCR on one machine: Tesseract's command line (Debian's `tesseract-ocr` with English and
//! German data), with a PDF's first page drawn to an image by poppler's `pdftoppm` first.
//! Each run has a time limit and a directory of its own that is removed afterwards.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use outlay_domain::ReceiptType;

use crate::text::Line;

/// Tesseract, run as a program.
#[derive(Debug, Clone)]
pub struct Tesseract {
    /// Its languages, as `-l` takes them (`eng+deu`).
    pub languages: String,
    /// The most one file may take.
    pub timeout: Duration,
}

impl Default for Tesseract {
    fn default() -> Self {
        Self {
            languages: "eng+deu".into(),
            timeout: Duration::from_secs(60),
        }
    }
}

impl Tesseract {
    /// Whether `tesseract` (and, for PDFs, `pdftoppm`) can be run here, with its version.
    pub fn version() -> Option<String> {
        let out = std::process::Command::new("tesseract")
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        out.status
            .success()
            .then(|| text.lines().next().unwrap_or("tesseract").trim().to_owned())
    }

    /// The lines of text on a receipt, each with Tesseract's confidence.
    pub async fn lines(&self, kind: ReceiptType, bytes: &[u8]) -> anyhow::Result<Vec<Line>> {
        let dir = tempfile::tempdir().context("Failed to make a directory for OCR")?;
        let input = dir.path().join(format!("receipt.{}", kind.extension()));
        tokio::fs::write(&input, bytes).await?;
        let image = match kind {
            ReceiptType::Pdf => self.first_page(&input, dir.path()).await?,
            _ => input,
        };
        let tsv = self
            .run(
                tokio::process::Command::new("tesseract")
                    .arg(&image)
                    .arg("stdout")
                    .args(["-l", &self.languages, "--psm", "4", "tsv"])
                    // One thread: readings run beside requests on a small machine.
                    .env("OMP_THREAD_LIMIT", "1"),
            )
            .await
            .context("tesseract failed")?;
        Ok(lines_of_tsv(&String::from_utf8_lossy(&tsv)))
    }

    /// Draws a PDF's first page in grey, its long side 3,508 pixels (A4 at 300 dpi), and
    /// answers the image's path.
    async fn first_page(&self, pdf: &Path, dir: &Path) -> anyhow::Result<std::path::PathBuf> {
        let prefix = dir.join("page");
        self.run(
            tokio::process::Command::new("pdftoppm")
                // A4's long side at 300 dpi, whatever size the page claims to be.
                .args([
                    "-scale-to",
                    "3508",
                    "-f",
                    "1",
                    "-l",
                    "1",
                    "-gray",
                    "-png",
                    "-singlefile",
                ])
                .arg(pdf)
                .arg(&prefix),
        )
        .await
        .context("pdftoppm could not draw the PDF")?;
        Ok(prefix.with_extension("png"))
    }

    async fn run(&self, command: &mut tokio::process::Command) -> anyhow::Result<Vec<u8>> {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let out = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .context("timed out")??;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            anyhow::bail!("{}", err.trim().chars().take(300).collect::<String>());
        }
        Ok(out.stdout)
    }
}

/// Tesseract's TSV as lines: its words joined in reading order, each line's confidence the
/// mean of its words' (0–1).
pub fn lines_of_tsv(tsv: &str) -> Vec<Line> {
    // By (page, block, paragraph, line): the words, and their confidences.
    type Words = (Vec<String>, Vec<f64>);
    let mut lines: BTreeMap<(u32, u32, u32, u32), Words> = BTreeMap::new();
    for row in tsv.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let n = |i: usize| cols[i].parse::<u32>().unwrap_or(0);
        let word = cols[11].trim();
        if word.is_empty() {
            continue;
        }
        let entry = lines.entry((n(1), n(2), n(3), n(4))).or_default();
        entry.0.push(word.to_owned());
        if let Ok(conf) = cols[10].parse::<f64>()
            && conf >= 0.0
        {
            entry.1.push(conf / 100.0);
        }
    }
    lines
        .into_values()
        .map(|(words, confs)| {
            let confidence = if confs.is_empty() {
                0.0
            } else {
                confs.iter().sum::<f64>() / confs.len() as f64
            };
            Line::new(&words.join(" "), confidence)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_words_become_lines_with_their_mean_confidence() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t0\t0\t10\t10\t90\tTOTAL\n\
                   5\t1\t1\t1\t1\t2\t0\t0\t10\t10\t80\t12,50\n\
                   5\t1\t1\t1\t2\t1\t0\t0\t10\t10\t70\tDanke\n";
        let lines = lines_of_tsv(tsv);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "TOTAL 12,50");
        assert!((lines[0].confidence - 0.85).abs() < 1e-9);
        assert_eq!(lines[1].text, "Danke");
    }
}
