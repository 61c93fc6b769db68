//! Sign-on state: sessions (lifetime, idle timeout, touch), mobile tokens,
//! single-use token ids, "sign out everywhere", pruning, and the revocation
//! of a disabled member's sign-ins in the disabling transaction.

use std::time::Duration;

use amsync_core::Trigger;
use amsync_store::*;

use crate::fixtures::*;
use crate::harness::TestDb;

const IDLE: Duration = Duration::from_secs(3600);

fn session(id: &str, member: &str) -> NewSession {
    NewSession {
        id_hash: id.into(),
        member: key(member),
        csrf: format!("csrf-{id}"),
        method: "session-variable".into(),
        created_at: t0(),
        expires_at: t0() + mins(12 * 60),
    }
}

fn token(hash: &str, member: &str) -> NewMobileToken {
    NewMobileToken {
        hash: hash.into(),
        member: key(member),
        grant: "password".into(),
        created_at: t0(),
        expires_at: t0() + mins(60),
    }
}

pub async fn a_session_lives_until_its_lifetime_or_idle_timeout(db: &mut TestDb) {
    let s = db.s();
    s.create_session(&session("s1", "A")).await.unwrap();
    let got = s.session("s1", t0() + mins(1), IDLE).await.unwrap().expect("live");
    assert_eq!((got.member.as_str(), got.csrf.as_str(), got.method.as_str()), ("A", "csrf-s1", "session-variable"));
    assert_eq!(got.last_seen_at, t0() + mins(1), "using it touches it");
    // Used within the idle timeout again and again, it lives on…
    for m in [50, 100, 150] {
        assert!(s.session("s1", t0() + mins(m), IDLE).await.unwrap().is_some(), "at +{m} min");
    }
    // …until idle longer than the timeout.
    assert!(s.session("s1", t0() + mins(150 + 61), IDLE).await.unwrap().is_none());
    assert!(s.session("s1", t0() + mins(150 + 62), IDLE).await.unwrap().is_none(), "and it stays gone");
    // However busy, not past its lifetime.
    s.create_session(&session("s2", "A")).await.unwrap();
    for m in (30..12 * 60).step_by(30) {
        assert!(s.session("s2", t0() + mins(m), IDLE).await.unwrap().is_some(), "at +{m} min");
    }
    assert!(s.session("s2", t0() + mins(12 * 60), IDLE).await.unwrap().is_none());
    assert!(s.session("nope", t0(), IDLE).await.unwrap().is_none());
}

pub async fn touching_a_session_is_not_a_write_per_request(db: &mut TestDb) {
    db.s().create_session(&session("s1", "A")).await.unwrap();
    let before = db.total_changes().await;
    for i in 0..20 {
        let at = t0() + chrono::Duration::seconds(i);
        assert!(db.s().session("s1", at, IDLE).await.unwrap().is_some());
    }
    assert_eq!(db.total_changes().await, before, "within the touch interval nothing is written");
    assert!(db.s().session("s1", t0() + mins(2), IDLE).await.unwrap().is_some());
    assert_eq!(db.total_changes().await, before + 1, "past it, one small write");
}

pub async fn sign_out_deletes_one_session_and_everywhere_deletes_all(db: &mut TestDb) {
    let s = db.s();
    for (id, m) in [("a1", "A"), ("a2", "A"), ("b1", "B")] {
        s.create_session(&session(id, m)).await.unwrap();
    }
    s.create_mobile_token(&token("ta", "A")).await.unwrap();
    s.create_mobile_token(&token("tb", "B")).await.unwrap();
    assert!(s.delete_session("a1").await.unwrap());
    assert!(!s.delete_session("a1").await.unwrap());
    assert_eq!(s.revoke_member_auth(&key("A")).await.unwrap(), RevokedAuth { sessions: 1, tokens: 1 });
    assert!(s.session("a2", t0(), IDLE).await.unwrap().is_none());
    assert!(s.mobile_token("ta", t0()).await.unwrap().is_none());
    assert!(s.session("b1", t0(), IDLE).await.unwrap().is_some(), "another member is untouched");
    assert!(s.mobile_token("tb", t0()).await.unwrap().is_some());
}

pub async fn mobile_tokens_expire_and_revoke(db: &mut TestDb) {
    let s = db.s();
    s.create_mobile_token(&token("t1", "A")).await.unwrap();
    let got = s.mobile_token("t1", t0() + mins(59)).await.unwrap().expect("live");
    assert_eq!((got.member.as_str(), got.grant.as_str()), ("A", "password"));
    assert!(s.mobile_token("t1", t0() + mins(60)).await.unwrap().is_none(), "expired");
    assert!(s.revoke_mobile_token("t1").await.unwrap());
    assert!(s.mobile_token("t1", t0()).await.unwrap().is_none());
    assert!(!s.revoke_mobile_token("t1").await.unwrap());
}

pub async fn a_token_id_is_accepted_once_even_under_concurrency(db: &mut TestDb) {
    let s = db.s_arc();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let s = s.clone();
        tasks.spawn(async move { s.use_token_id("jti-1", t0() + mins(5)).await.unwrap() });
    }
    let mut firsts = 0;
    while let Some(r) = tasks.join_next().await {
        firsts += r.unwrap() as usize;
    }
    assert_eq!(firsts, 1, "exactly one use wins");
    assert!(s.use_token_id("jti-2", t0() + mins(5)).await.unwrap());
}

pub async fn pruning_removes_only_what_is_over(db: &mut TestDb) {
    let s = db.s();
    s.create_session(&session("live", "A")).await.unwrap();
    s.create_session(&NewSession { expires_at: t0() + mins(10), ..session("ended", "A") }).await.unwrap();
    s.create_mobile_token(&token("t-live", "A")).await.unwrap();
    s.create_mobile_token(&NewMobileToken { expires_at: t0() + mins(1), ..token("t-old", "A") }).await.unwrap();
    s.use_token_id("j-old", t0() + mins(1)).await.unwrap();
    s.use_token_id("j-live", t0() + mins(30)).await.unwrap();
    let pruned = s.prune_auth(t0() + mins(20), IDLE).await.unwrap();
    assert_eq!(pruned, PrunedAuth { sessions: 1, tokens: 1, token_ids: 1 });
    assert!(s.session("live", t0() + mins(20), IDLE).await.unwrap().is_some());
    assert!(!s.use_token_id("j-live", t0() + mins(30)).await.unwrap(), "a live id is still remembered");
    // Idle sessions go too.
    let pruned = s.prune_auth(t0() + mins(20 + 61), IDLE).await.unwrap();
    assert_eq!(pruned.sessions, 1);
}

pub async fn a_disable_revokes_sessions_and_tokens_in_the_same_commit(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    s.commit_refresh(commit(member("B"), t0())).await.unwrap();
    s.create_session(&session("a1", "A")).await.unwrap();
    s.create_mobile_token(&token("ta", "A")).await.unwrap();
    s.create_session(&session("b1", "B")).await.unwrap();
    // An unchanged refresh leaves them.
    s.commit_refresh(commit(member("A"), t0() + mins(1))).await.unwrap();
    assert!(s.session("a1", t0() + mins(1), IDLE).await.unwrap().is_some());
    // The AMS answering 404 disables A, and ends its sign-ins with it.
    let gone = RefreshCommit {
        claim: None,
        key: key("A"),
        trigger: Trigger::Periodic,
        run_id: None,
        at: t0() + mins(2),
        outcome: RefreshOutcome::Gone { status: 404, merged_into: None },
    };
    s.commit_refresh(gone).await.unwrap();
    assert!(s.session("a1", t0() + mins(2), IDLE).await.unwrap().is_none());
    assert!(s.mobile_token("ta", t0() + mins(2)).await.unwrap().is_none());
    assert!(s.session("b1", t0() + mins(2), IDLE).await.unwrap().is_some());
    // The AMS saying `disabled` does the same.
    let mut b = member("B");
    b.details.status = amsync_core::AmsStatus::Disabled;
    s.commit_refresh(commit(b, t0() + mins(3))).await.unwrap();
    assert!(s.session("b1", t0() + mins(3), IDLE).await.unwrap().is_none());
    assert_eq!(db.count("sessions").await + db.count("mobile_tokens").await, 0);
}

pub async fn a_sign_in_is_one_write_of_token_id_session_and_login_refresh(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    s.create_session(&session("old", "A")).await.unwrap();
    let sign_in = SignIn {
        session: session("new", "A"),
        token_id: Some(("jti-a".into(), t0() + mins(5))),
        replaces: Some("old".into()),
        login_refresh: true,
    };
    assert_eq!(s.sign_in(&sign_in).await.unwrap(), SignInOutcome::SignedIn);
    assert!(s.session("new", t0(), IDLE).await.unwrap().is_some());
    assert!(s.session("old", t0(), IDLE).await.unwrap().is_none(), "the replaced session is gone");
    let q = s.list_queue(None, 10, None).await.unwrap();
    assert_eq!((q.len(), q[0].trigger), (1, Trigger::Login));
    // The same token again: nothing is written.
    let again = SignIn { session: session("again", "A"), ..sign_in.clone() };
    assert_eq!(s.sign_in(&again).await.unwrap(), SignInOutcome::Replayed);
    assert!(s.session("again", t0(), IDLE).await.unwrap().is_none());
    // Unknown, disabled and admin-disabled members get no session.
    let unknown =
        SignIn { session: session("u", "Z"), token_id: Some(("jti-z".into(), t0() + mins(5))), ..sign_in.clone() };
    assert_eq!(s.sign_in(&unknown).await.unwrap(), SignInOutcome::Unknown);
    assert!(!s.use_token_id("jti-z", t0() + mins(5)).await.unwrap(), "the token is spent all the same");
    db.exec("UPDATE members SET status = 'disabled', disabled_reason = 'admin' WHERE key = 'A'").await;
    let s = db.s();
    let disabled = SignIn { session: session("d", "A"), token_id: None, replaces: None, login_refresh: true };
    assert_eq!(s.sign_in(&disabled).await.unwrap(), SignInOutcome::Disabled { by_admin: true });
    assert!(s.session("d", t0(), IDLE).await.unwrap().is_none());
}
