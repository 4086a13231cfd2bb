use serde::{Deserialize, Serialize};

/// How the bank authenticates the user (Berlin Group `ASPSP-SCA-Approach`). Embedded and OAuth are recorded
/// when a bank answers with them; Consentry drives redirect and decoupled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScaApproach {
    Redirect,
    Decoupled,
    Embedded,
    Oauth,
}

/// The links a bank returned for strong customer authentication of a consent or a payment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaLinks {
    pub approach: Option<ScaApproach>,
    /// `_links.scaRedirect`: where the user approves (redirect approach).
    pub redirect_url: Option<String>,
    /// `_links.scaStatus`: polled for the decoupled approach.
    pub sca_status_url: Option<String>,
    /// `_links.startAuthorisation*`, when the bank wants an explicit authorisation resource first.
    pub start_authorisation_url: Option<String>,
}

/// Berlin Group `scaStatus` of one authorisation sub-resource. Final: finalised, failed, exempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScaStatus {
    Received,
    PsuIdentified,
    PsuAuthenticated,
    ScaMethodSelected,
    Started,
    Unconfirmed,
    Finalised,
    Failed,
    Exempted,
}

impl ScaStatus {
    pub fn is_final(&self) -> bool {
        matches!(self, ScaStatus::Finalised | ScaStatus::Failed | ScaStatus::Exempted)
    }

    /// The Berlin Group spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            ScaStatus::Received => "received",
            ScaStatus::PsuIdentified => "psuIdentified",
            ScaStatus::PsuAuthenticated => "psuAuthenticated",
            ScaStatus::ScaMethodSelected => "scaMethodSelected",
            ScaStatus::Started => "started",
            ScaStatus::Unconfirmed => "unconfirmed",
            ScaStatus::Finalised => "finalised",
            ScaStatus::Failed => "failed",
            ScaStatus::Exempted => "exempted",
        }
    }
}
