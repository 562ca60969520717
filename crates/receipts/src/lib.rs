//! Outlay's receipt readers, behind the [`ReceiptReader`] port: the e-invoice a PDF carries,
//! read exactly, and Tesseract OCR with the extraction rules of [`text`].

pub mod einvoice;
pub mod mail;
#[cfg(feature = "tesseract")]
pub mod tesseract;
pub mod text;
#[cfg(feature = "textract")]
pub mod textract;

use async_trait::async_trait;
use outlay_app::ports::{Read, ReceiptReader};
use outlay_domain::ReceiptType;
use outlay_domain::reading::Reader;

#[cfg(feature = "tesseract")]
pub use tesseract::Tesseract;

/// Reads the invoice data a PDF embeds (ZUGFeRD, Factur-X, XRechnung); passes on anything else.
#[derive(Debug, Default, Clone, Copy)]
pub struct EinvoiceReader;

#[async_trait]
impl ReceiptReader for EinvoiceReader {
    async fn read(&self, kind: ReceiptType, bytes: &[u8]) -> anyhow::Result<Option<Read>> {
        if kind != ReceiptType::Pdf {
            return Ok(None);
        }
        let bytes = bytes.to_vec();
        // Parsing a PDF is CPU work: off the async threads.
        let fields = tokio::task::spawn_blocking(move || einvoice::read_pdf(&bytes)).await?;
        Ok(match fields {
            Ok(Some(fields)) => Some(Read {
                reader: Reader::Einvoice,
                fields,
            }),
            // A PDF lopdf cannot parse may still be drawn and read by OCR.
            Ok(None) | Err(_) => None,
        })
    }
}

/// Reads any receipt by OCR.
#[cfg(feature = "tesseract")]
#[derive(Debug, Default, Clone)]
pub struct TesseractReader(pub Tesseract);

#[cfg(feature = "tesseract")]
#[async_trait]
impl ReceiptReader for TesseractReader {
    async fn read(&self, kind: ReceiptType, bytes: &[u8]) -> anyhow::Result<Option<Read>> {
        let lines = self.0.lines(kind, bytes).await?;
        Ok(Some(Read {
            reader: Reader::Tesseract,
            fields: text::fields(&lines),
        }))
    }
}
