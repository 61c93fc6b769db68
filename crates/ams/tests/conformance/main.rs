//! The source conformance suite, one test binary.
//!
//! - `shared/`: what every kind of source owes the engine, written once
//!   against `dyn AmsSource` and run on each kind through its harness
//!   (`kinds/`: `http-json` and `http-xml` against a test AMS on
//!   127.0.0.1 serving the data, `soap` against a SOAP test AMS, the
//!   in-memory source). A new kind adds a
//!   [`harness::Harness`] and one line to [`suite!`]'s invocation below.
//! - `http/`: what only the HTTP kinds have (query strings, paths,
//!   headers, authentication schemes, body caps, timeouts, statuses,
//!   limits), each check run in both encodings by [`both!`];
//! - `soap_dialect/`: what only the SOAP kind has (envelopes, `SOAPAction`,
//!   faults, the streamed listing's cap).

mod fixtures;
mod harness;
mod http;
mod kinds;
mod shared;
mod soap_dialect;

/// Runs each listed shared test against a source of one kind.
macro_rules! conformance {
    ($kind:ident => $harness:expr; $($module:ident::$test:ident),* $(,)?) => {
        mod $kind {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    crate::shared::$module::$test(&$harness).await;
                }
            )*
        }
    };
}

/// The shared suite, on every kind given.
macro_rules! suite {
    ($($kind:ident => $harness:expr),* $(,)?) => {$(
        conformance!($kind => $harness;
            listing::changed_members_are_followed_to_the_last_page,
            listing::the_full_listing_lists_every_member_the_ams_has,
            listing::since_leaves_earlier_changes_out_to_the_second,
            listing::an_unreadable_key_is_rejected_and_the_rest_used,
            listing::events_are_followed_to_the_last_page,
            listing::an_event_breaking_the_contract_is_rejected_and_the_rest_used,
            members::members_read_as_the_ams_holds_them,
            members::gone_members_are_answers,
            members::health_answers,
            malformed::a_member_breaking_the_contract_is_a_data_error_naming_record_and_field,
            refusals::a_refusal_of_our_credentials_is_unauthorized,
            credentials::credentials_and_tokens_answer_the_member,
            observe::every_call_is_observed_with_its_classification,
        );
    )*};
}

suite!(
    http_json => crate::kinds::http::HttpHarness(amsync_ams::HttpEncoding::Json),
    http_xml => crate::kinds::http::HttpHarness(amsync_ams::HttpEncoding::Xml),
    memory => crate::kinds::memory::MemoryHarness,
    soap => crate::kinds::soap::SoapHarness,
);
