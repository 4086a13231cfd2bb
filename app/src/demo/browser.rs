//! The user's browser, as the demo plays it: it presses Approve on the bank's SCA page and follows the redirect
//! back to Consentry, and it reaches the sandbox's admin routes (fault injection, revocation in the bank's app).

use super::DemoError;

pub fn failed(error: reqwest::Error) -> DemoError {
    DemoError::Browser(error.to_string())
}

/// What the user's browser does on the bank's SCA page: open it, press Approve, follow the redirect back to
/// Consentry's callback. Returns where it ended and the HTTP status there.
pub async fn approve_in_browser(browser: &reqwest::Client, sca_page: &str) -> Result<(String, u16), DemoError> {
    let page = browser
        .get(sca_page)
        .send()
        .await
        .map_err(failed)?
        .text()
        .await
        .map_err(failed)?;
    if !page.contains("value=\"approve\"") {
        return Err(DemoError::Browser("the SCA page shows no Approve button".into()));
    }
    let landed = browser
        .post(sca_page)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("decision=approve")
        .send()
        .await
        .map_err(failed)?;
    Ok((landed.url().to_string(), landed.status().as_u16()))
}
