//! Errors as pages: the status of a use case's error (the API's own mapping) in plain words.

use super::*;

/// An error shown as a page, in plain words. Handlers answer it as a marker that
/// [`error_pages`] renders with the base path.
#[derive(Clone)]
pub(crate) struct ErrorPage(pub StatusCode, pub String);

impl From<AppError> for ErrorPage {
    fn from(e: AppError) -> Self {
        let api = crate::error::ApiError::from(e);
        let response = api.into_response();
        let status = response.status();
        let message = match status {
            StatusCode::NOT_FOUND => "There is nothing here, or it is not yours to see.".to_owned(),
            StatusCode::FORBIDDEN => "You do not have access to this page or action.".to_owned(),
            StatusCode::INTERNAL_SERVER_ERROR => {
                "Something went wrong on our side. Please try again.".to_owned()
            }
            _ => "That did not work.".to_owned(),
        };
        ErrorPage(status, message)
    }
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Renders the [`ErrorPage`]s that handlers answer, with links under the base path.
pub(crate) async fn error_pages(State(state): State<AppState>, mut response: Response) -> Response {
    let Some(ErrorPage(status, text)) = response.extensions_mut().remove::<ErrorPage>() else {
        return response;
    };
    let markup = plain_page(
        &state,
        &status.as_u16().to_string(),
        None,
        "error-page",
        html! {
            h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("Error")) }
            p.error role="alert" { (text) }
            p { a href=(url(&state, "/expenses")) { "Go to your expenses" } " or use your browser's back button." }
        },
    );
    let (mut parts, _) = response.into_parts();
    let fresh = (status, markup).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in fresh.headers() {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, fresh.into_body())
}

/// The message of a use case's error, for showing next to the form that caused it.
pub(crate) fn message(e: &AppError) -> String {
    match e {
        AppError::Internal(_) => "Something went wrong on our side. Please try again.".into(),
        AppError::NotFound(_) => "There is nothing here, or it is not yours to see.".into(),
        other => other.to_string(),
    }
}

/// Answers 404 as a page for browsers and as JSON for the API.
pub(crate) async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        crate::error::no_route().await.into_response()
    } else {
        ErrorPage(StatusCode::NOT_FOUND, "There is no such page.".into()).into_response()
    }
}
