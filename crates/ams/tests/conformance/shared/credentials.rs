//! The credential service of a kind that has one: a right password and a
//! known token answer the member's key; a wrong password and an unknown
//! token are answers too (`None`), not failures.

use amsync_ams::CredentialService;
use secrecy::SecretString;

use crate::fixtures::{contract, key};
use crate::harness::{start, Harness};

pub async fn credentials_and_tokens_answer_the_member(h: &dyn Harness) {
    let (run, _) = start(h, contract()).await;
    let Some(creds) = run.credentials else { return };
    assert_eq!(creds.authenticate("ada", &SecretString::from("right-password")).await.unwrap(), Some(key("M000123")));
    assert_eq!(creds.authenticate("ada", &SecretString::from("wrong-password")).await.unwrap(), None);
    assert_eq!(creds.authenticate("bob", &SecretString::from("right-password")).await.unwrap(), None);
    assert_eq!(creds.resolve_token("good-token").await.unwrap(), Some(key("M000123")));
    assert_eq!(creds.resolve_token("expired").await.unwrap(), None);
}
