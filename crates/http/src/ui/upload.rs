//! A form with files (`multipart/form-data`), read whole: its CSRF token and its files.

use axum::extract::Multipart;

/// One file of a form.
pub(crate) struct UploadedFile {
    /// The name the browser gave it, if any.
    pub name: Option<String>,
    /// Its declared media type (`""` when none was sent); magic bytes decide in the use case.
    pub kind: String,
    pub bytes: Vec<u8>,
}

/// What a form with files sent.
pub(crate) struct Upload {
    /// The `csrf` field, to check before anything is done.
    pub csrf: String,
    /// The non-empty `file` fields, in order.
    pub files: Vec<UploadedFile>,
    /// The body did not arrive whole, or a file was over the route's size limit: nothing of
    /// it may be used.
    pub broken: bool,
}

impl Upload {
    /// Reads the whole form; fields other than `csrf` and `file` are ignored.
    pub(crate) async fn read(mut multipart: Multipart) -> Upload {
        let mut upload = Upload {
            csrf: String::new(),
            files: Vec::new(),
            broken: false,
        };
        loop {
            match multipart.next_field().await {
                Ok(Some(field)) => match field.name() {
                    Some("csrf") => upload.csrf = field.text().await.unwrap_or_default(),
                    Some("file") => {
                        let name = field.file_name().map(str::to_owned);
                        let kind = field.content_type().unwrap_or("").to_owned();
                        match field.bytes().await {
                            Ok(bytes) if !bytes.is_empty() => upload.files.push(UploadedFile {
                                name,
                                kind,
                                bytes: bytes.to_vec(),
                            }),
                            Ok(_) => {}
                            Err(_) => {
                                upload.broken = true;
                                break;
                            }
                        }
                    }
                    _ => {}
                },
                Ok(None) => break,
                Err(_) => {
                    upload.broken = true;
                    break;
                }
            }
        }
        upload
    }
}
