//! The store conformance suite: every behaviour the store traits promise,
//! written once against `dyn Store` and run on each backend: SQLite files in
//! a temporary directory (`harness.rs`) and PostgreSQL databases on the
//! machine's server (`harness_postgres.rs`; a test fails, never skips, when
//! the server cannot be reached). One test binary, so it links once. Raw
//! SQL that writes or reads a time goes through `TestDb::time` and
//! `TestDb::ms`, since the backends keep times differently.

mod access;
mod audit;
mod auth;
mod data_protection;
mod events;
mod feed;
mod fixtures;
mod handle;
mod harness;
mod harness_postgres;
mod listing;
mod members;
mod queue;
mod runs;
mod safety;
mod settings;
mod sqlite;
mod sqlite_erasure;

/// Runs each listed test against a fresh store of every backend: SQLite
/// files in a temporary directory, and PostgreSQL databases on the
/// machine's server (`harness_postgres.rs`).
macro_rules! conformance {
    ($($module:ident::$test:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let mut db = crate::harness::sqlite().await;
                    crate::$module::$test(&mut db).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let mut db = crate::harness_postgres::postgres().await;
                    crate::$module::$test(&mut db).await;
                }
            )*
        }
    };
}

conformance!(
    queue::one_waiting_entry_per_key,
    queue::running_key_gets_a_new_waiting_entry_but_never_runs_twice,
    queue::merging_raises_priority_moves_due_earlier_and_keeps_attempts,
    queue::claim_order_follows_priority_with_aging,
    queue::equal_claim_order_is_taken_in_key_order,
    queue::claim_takes_only_due_entries_and_respects_the_limit,
    queue::a_stale_fence_commits_nothing,
    queue::renewing_keeps_a_lease_from_expiring,
    queue::rescue_drops_an_expired_entry_whose_key_waits_again,
    queue::retry_waits_for_its_due_time,
    queue::dead_letters_wait_for_a_requeue_and_an_enqueue_replaces_them,
    queue::release_gives_the_attempt_back,
    queue::requeue_brings_dead_letters_back,
    queue::listing_pages_by_id_and_filters_by_state,
    queue::a_claim_left_by_a_crashed_worker_comes_back_after_its_lease,
    queue::one_enqueue_call_merges_inserts_and_replaces_dead_letters_key_by_key,
    queue::enqueue_takes_a_hundred_thousand_keys_in_one_call,
    members::first_load_is_one_created_entry,
    members::an_unchanged_refresh_writes_only_bookkeeping,
    members::a_changed_field_is_recorded_by_name,
    members::gone_disables_and_a_merge_enqueues_the_target,
    members::a_member_that_reappears_is_enabled,
    members::an_ams_disable_is_followed_and_undone,
    members::an_admin_disable_sticks,
    members::rules_apply_on_refresh_and_reapply_without_the_ams,
    members::reapply_walks_every_member_in_batches,
    members::a_colliding_ams_group_is_a_data_error_not_a_privilege,
    members::a_failure_is_kept_on_the_member_until_a_refresh_succeeds,
    members::search_matches_text_community_and_group_with_a_cursor,
    runs::a_run_counts_its_refreshes_and_finishes_with_its_last_entry,
    runs::a_run_waits_for_retries_and_succeeds,
    runs::a_merge_target_joins_the_run,
    runs::an_adopted_entry_lets_its_old_run_finish,
    runs::runs_finish_at_once_list_newest_first_and_filter,
    runs::a_watermark_never_moves_backwards,
    runs::the_source_state_and_heartbeats_are_kept,
    runs::everything_survives_a_reopen,
    listing::a_run_is_orphaned_only_once_its_lease_ran_out_and_one_adopter_wins,
    listing::a_checkpoint_is_saved_with_its_counts_and_outlives_the_process,
    listing::members_not_refreshed_since_a_time_are_the_active_ones_left,
    events::events_upsert_by_content,
    events::events_are_listed_by_overlap_in_start_order,
    settings::settings_are_seeded_once,
    settings::security_groups_list_builtins_then_ams_groups_as_first_seen,
    feed::the_feed_lists_changes_in_commit_order,
    feed::concurrent_commits_each_get_one_feed_item,
    access::communities_hide_excluded_ones_and_count_current_active_members,
    access::grants_take_known_groups_of_known_communities,
    access::content_items_keep_their_groups_in_order,
    access::the_access_config_is_what_decisions_need,
    access::the_access_version_moves_with_what_policies_are_built_from,
    access::local_groups_are_never_shadowed_by_ams_groups,
    access::an_is_member_designation_feeds_every_member_whose_aggregate_flips,
    access::searching_is_member_lists_exactly_whom_the_is_member_rule_counts,
    access::local_group_members_are_set_by_full_replace_and_recorded,
    access::deleting_a_local_group_takes_its_members_grants_and_content_along,
    access::local_groups_are_seeded_once,
    access::search_by_group_follows_computed_groups,
    audit::the_audit_log_lists_newest_first_pages_and_filters_by_actor,
    audit::the_audit_log_survives_a_reopen,
    auth::a_session_lives_until_its_lifetime_or_idle_timeout,
    auth::touching_a_session_is_not_a_write_per_request,
    auth::sign_out_deletes_one_session_and_everywhere_deletes_all,
    auth::mobile_tokens_expire_and_revoke,
    auth::a_token_id_is_accepted_once_even_under_concurrency,
    auth::pruning_removes_only_what_is_over,
    auth::a_disable_revokes_sessions_and_tokens_in_the_same_commit,
    auth::a_sign_in_is_one_write_of_token_id_session_and_login_refresh,
    safety::disables_past_the_threshold_are_held_and_the_rest_applies,
    safety::a_rejected_hold_stays_rejected_until_the_answer_changes,
    safety::applying_revalidates_and_a_moved_on_hold_is_dropped,
    safety::membership_removals_past_the_share_are_held_and_kept,
    safety::a_rule_change_past_the_threshold_is_held_whole,
    safety::an_admin_disable_sticks_revokes_and_is_never_held,
    safety::a_sample_names_active_members_only,
    safety::changes_an_admin_approved_or_made_do_not_hold_the_sources_later_changes,
    data_protection::an_export_holds_everything_about_one_member,
    data_protection::an_erase_removes_every_row_and_leaves_a_tombstone,
    data_protection::an_erase_and_an_export_cover_every_table_that_names_the_member,
    data_protection::a_tombstoned_key_is_not_brought_back_until_lifted,
    data_protection::an_erase_of_the_newest_feed_entry_never_reuses_its_sequence,
    data_protection::an_erase_lets_the_runs_of_its_entries_finish,
    data_protection::pruning_deletes_history_and_feed_by_age_in_bounded_batches,
    data_protection::pruning_keeps_running_runs_and_an_admins_disable,
    data_protection::pruning_removes_decided_approvals_but_keeps_a_standing_rejection,
    data_protection::pruning_removes_ended_sign_ins_after_their_retention,
);
