//! Picks the PostgreSQL driver by measurement: sqlx against tokio-postgres
//! (one statement at a time, and pipelined) on the shape of a refresh
//! commit, against the machine's PostgreSQL.
//!
//! ```text
//! cargo run --release -p amsync-store --example pg_driver_bench -- \
//!     [--members 4000] [--concurrency 8] [--url postgres://postgres@127.0.0.1:5432] [--sync-commit off]
//! ```
//!
//! Each run creates a throwaway database `amsync_bench_<pid>` (dropped at
//! the end). Per member, one transaction: the fingerprint read, the upsert
//! of the member row (~30 columns, as the store's), delete + insert of its
//! 5 memberships (one `UNNEST` insert), a history row and a change-feed
//! append under a transaction-level advisory lock (as `postgres/feed.rs`
//! takes it). Two passes per driver: a first load (every member new) and
//! a second load (every member changed). `--concurrency` tasks each hold
//! one connection (no pool: the driver is what is measured).
//!
//! Pipelined tokio-postgres sends the statements after the read together
//! and waits once (the fingerprint decides nothing here that changes
//! them); sqlx has no pipelining in its API.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};

const SCHEMA: &str = "
CREATE TABLE members (
    key text PRIMARY KEY, status text NOT NULL, disabled_reason text,
    details_hash bytea NOT NULL, memberships_hash bytea NOT NULL, groups_hash bytea NOT NULL,
    merged_into text, ams_status text NOT NULL, prefix text, first_name text, middle_name text,
    last_name text, nickname text, suffix text, credentials text, email text,
    address_line1 text, address_line2 text, address_line3 text, address_city text, address_state text,
    address_postal_code text, address_country_code text, website text,
    phones jsonb NOT NULL, social jsonb NOT NULL, demographics jsonb NOT NULL, search_text text NOT NULL,
    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, ams_memberships jsonb NOT NULL);
CREATE TABLE memberships (member_key text NOT NULL, community_key text NOT NULL, begin_on date NOT NULL,
    end_on date, role text, PRIMARY KEY (member_key, community_key, begin_on));
CREATE TABLE member_history (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, member_key text NOT NULL,
    at timestamptz NOT NULL, trigger text NOT NULL, kind text NOT NULL, run_id bigint, fields jsonb NOT NULL);
CREATE INDEX member_history_by_member ON member_history (member_key, id);
CREATE TABLE change_feed (seq bigint PRIMARY KEY, member_key text NOT NULL, kind text NOT NULL,
    at timestamptz NOT NULL);
";

const FINGERPRINT: &str = "SELECT disabled_reason, details_hash, memberships_hash, groups_hash FROM members WHERE key = $1";
const UPSERT: &str = "INSERT INTO members (key, status, disabled_reason, details_hash, memberships_hash, groups_hash,
    merged_into, ams_status, prefix, first_name, middle_name, last_name, nickname, suffix, credentials, email,
    address_line1, address_line2, address_line3, address_city, address_state, address_postal_code,
    address_country_code, website, phones, social, demographics, search_text, created_at, updated_at,
    ams_memberships)
  VALUES ($1, 'active', NULL, $2, $2, $2, NULL, 'active', NULL, $3, NULL, $4, NULL, NULL, NULL, $5, $6, NULL, NULL,
    $7, NULL, $8, 'US', NULL, $9::text::jsonb, '[]', '[]', $10, $11, $11, $12::text::jsonb)
  ON CONFLICT (key) DO UPDATE SET status = excluded.status, disabled_reason = excluded.disabled_reason,
    details_hash = excluded.details_hash, memberships_hash = excluded.memberships_hash,
    groups_hash = excluded.groups_hash, first_name = excluded.first_name, last_name = excluded.last_name,
    email = excluded.email, address_line1 = excluded.address_line1, address_city = excluded.address_city,
    address_postal_code = excluded.address_postal_code, phones = excluded.phones,
    search_text = excluded.search_text, updated_at = excluded.updated_at, ams_memberships = excluded.ams_memberships";
const DELETE_MEMBERSHIPS: &str = "DELETE FROM memberships WHERE member_key = $1";
const INSERT_MEMBERSHIPS: &str = "INSERT INTO memberships (member_key, community_key, begin_on, end_on, role)
    SELECT $1, * FROM UNNEST($2::text[], $3::date[], $4::date[], $5::text[])";
const HISTORY: &str =
    "INSERT INTO member_history (member_key, at, trigger, kind, run_id, fields) VALUES ($1, $2, 'periodic', $3, NULL, $4::text::jsonb)";
const FEED_LOCK: &str = "SELECT pg_advisory_xact_lock(7300001)";
const FEED: &str = "INSERT INTO change_feed (seq, member_key, kind, at)
    SELECT COALESCE(MAX(seq), 0) + 1, $1, $2, $3 FROM change_feed";

struct Args {
    members: usize,
    concurrency: usize,
    url: String,
    sync_commit_off: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        members: 4000,
        concurrency: 8,
        url: "postgres://postgres@127.0.0.1:5432".into(),
        sync_commit_off: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--members" => a.members = value().parse().expect("--members N"),
            "--concurrency" => a.concurrency = value().parse().expect("--concurrency N"),
            "--url" => a.url = value(),
            "--sync-commit" => a.sync_commit_off = value() == "off",
            other => panic!("unknown argument {other}; use --members N --concurrency N --url URL --sync-commit on|off"),
        }
    }
    a
}

/// What one member's commit writes (built by the committing task).
struct Row {
    key: String,
    hash: Vec<u8>,
    first: String,
    last: String,
    email: String,
    line1: String,
    city: String,
    postal: String,
    phones: String,
    search: String,
    ams: String,
    communities: Vec<String>,
    begins: Vec<NaiveDate>,
    ends: Vec<Option<NaiveDate>>,
    roles: Vec<Option<String>>,
    kind: &'static str,
    fields: String,
}

fn row(i: usize, pass: u32) -> Row {
    let key = format!("M{i:07}");
    let last = format!("Last{i}-{pass}");
    let communities: Vec<String> = (0..5).map(|c| format!("C{:03}", (i + c * 7) % 200)).collect();
    let day = NaiveDate::from_ymd_opt(2020, 1, 1).expect("a date");
    Row {
        hash: xor_hash(i, pass),
        first: format!("First{i}"),
        email: format!("m{i}@example.org"),
        line1: format!("{i} Main Street"),
        city: "Springfield".into(),
        postal: format!("{:05}", i % 99999),
        phones: format!(r#"[{{"kind":"work","number":"+1555{i:07}"}},{{"kind":"mobile","number":"+1666{i:07}"}}]"#),
        search: format!("{}\u{1f}first{i}\u{1f}{}\u{1f}m{i}@example.org", key.to_lowercase(), last.to_lowercase()),
        ams: format!(r#"[{{"community":"{}","begin":"2020-01-01","role":"member"}}]"#, communities[0]),
        begins: (0..5).map(|_| day).collect(),
        ends: (0..5).map(|c| if c == 4 { Some(day) } else { None }).collect(),
        roles: (0..5).map(|c| if c % 2 == 0 { Some("member".into()) } else { None }).collect(),
        communities,
        kind: if pass == 0 { "created" } else { "changed" },
        fields: format!(r#"[{{"field":"last_name","to":"{last}"}}]"#),
        last,
        key,
    }
}

fn xor_hash(i: usize, pass: u32) -> Vec<u8> {
    let mut h = (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834) ^ u128::from(pass);
    h = h.rotate_left(17);
    h.to_be_bytes().to_vec()
}

async fn sqlx_commit(conn: &mut sqlx::PgConnection, r: &Row, at: DateTime<Utc>) -> sqlx::Result<()> {
    use sqlx::{Connection, Row as _};
    let mut tx = conn.begin().await?;
    let found = sqlx::query(FINGERPRINT).bind(&r.key).fetch_optional(&mut *tx).await?;
    if let Some(f) = found {
        let _: Vec<u8> = f.try_get(1)?;
    }
    sqlx::query(UPSERT)
        .bind(&r.key)
        .bind(&r.hash)
        .bind(&r.first)
        .bind(&r.last)
        .bind(&r.email)
        .bind(&r.line1)
        .bind(&r.city)
        .bind(&r.postal)
        .bind(&r.phones)
        .bind(&r.search)
        .bind(at)
        .bind(&r.ams)
        .execute(&mut *tx)
        .await?;
    sqlx::query(DELETE_MEMBERSHIPS).bind(&r.key).execute(&mut *tx).await?;
    sqlx::query(INSERT_MEMBERSHIPS)
        .bind(&r.key)
        .bind(&r.communities)
        .bind(&r.begins)
        .bind(&r.ends)
        .bind(&r.roles)
        .execute(&mut *tx)
        .await?;
    sqlx::query(HISTORY).bind(&r.key).bind(at).bind(r.kind).bind(&r.fields).execute(&mut *tx).await?;
    sqlx::query(FEED_LOCK).execute(&mut *tx).await?;
    sqlx::query(FEED).bind(&r.key).bind(r.kind).bind(at).execute(&mut *tx).await?;
    tx.commit().await
}

/// Prepared once per connection, as a pool's statement cache would.
struct TpgStatements {
    fingerprint: tokio_postgres::Statement,
    upsert: tokio_postgres::Statement,
    delete: tokio_postgres::Statement,
    insert: tokio_postgres::Statement,
    history: tokio_postgres::Statement,
    lock: tokio_postgres::Statement,
    feed: tokio_postgres::Statement,
}

async fn tpg_prepare(c: &tokio_postgres::Client) -> Result<TpgStatements, tokio_postgres::Error> {
    Ok(TpgStatements {
        fingerprint: c.prepare(FINGERPRINT).await?,
        upsert: c.prepare(UPSERT).await?,
        delete: c.prepare(DELETE_MEMBERSHIPS).await?,
        insert: c.prepare(INSERT_MEMBERSHIPS).await?,
        history: c.prepare(HISTORY).await?,
        lock: c.prepare(FEED_LOCK).await?,
        feed: c.prepare(FEED).await?,
    })
}

async fn tpg_commit(
    c: &mut tokio_postgres::Client,
    s: &TpgStatements,
    r: &Row,
    at: DateTime<Utc>,
    pipelined: bool,
) -> Result<(), tokio_postgres::Error> {
    let tx = c.transaction().await?;
    if let Some(f) = tx.query_opt(&s.fingerprint, &[&r.key]).await? {
        let _: Vec<u8> = f.try_get(1)?;
    }
    let upsert_params: [&(dyn tokio_postgres::types::ToSql + Sync); 12] =
        [&r.key, &r.hash, &r.first, &r.last, &r.email, &r.line1, &r.city, &r.postal, &r.phones, &r.search, &at, &r.ams];
    if pipelined {
        // Polled together, the statements go out back to back and their
        // answers come back in order: one round trip instead of six.
        let key: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&r.key];
        let ms: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [&r.key, &r.communities, &r.begins, &r.ends, &r.roles];
        let hist: [&(dyn tokio_postgres::types::ToSql + Sync); 4] = [&r.key, &at, &r.kind, &r.fields];
        let feed: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&r.key, &r.kind, &at];
        let (a, b, c2, d, e, f) = tokio::join!(
            tx.execute(&s.upsert, &upsert_params),
            tx.execute(&s.delete, &key),
            tx.execute(&s.insert, &ms),
            tx.execute(&s.history, &hist),
            tx.execute(&s.lock, &[]),
            tx.execute(&s.feed, &feed),
        );
        for res in [a, b, c2, d, e, f] {
            res?;
        }
    } else {
        tx.execute(&s.upsert, &upsert_params).await?;
        tx.execute(&s.delete, &[&r.key]).await?;
        tx.execute(&s.insert, &[&r.key, &r.communities, &r.begins, &r.ends, &r.roles]).await?;
        tx.execute(&s.history, &[&r.key, &at, &r.kind, &r.fields]).await?;
        tx.execute(&s.lock, &[]).await?;
        tx.execute(&s.feed, &[&r.key, &r.kind, &at]).await?;
    }
    tx.commit().await
}

#[derive(Clone, Copy, Debug)]
enum Driver {
    Sqlx,
    TokioPostgres,
    TokioPostgresPipelined,
}

async fn tpg_connect(url: &str, sync_off: bool) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect (tokio-postgres)");
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("connection: {e}");
        }
    });
    if sync_off {
        client.batch_execute("SET synchronous_commit = off").await.expect("set");
    }
    client
}

/// Commits every member once with `driver`; returns the wall time.
async fn pass(driver: Driver, url: &str, args: &Args, pass: u32) -> Duration {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let next = next.clone();
        let url = url.to_owned();
        let (n, sync_off) = (args.members, args.sync_commit_off);
        tasks.push(tokio::spawn(async move {
            match driver {
                Driver::Sqlx => {
                    use sqlx::Connection;
                    let mut c = sqlx::PgConnection::connect(&url).await.expect("connect (sqlx)");
                    if sync_off {
                        sqlx::query("SET synchronous_commit = off").execute(&mut c).await.expect("set");
                    }
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        sqlx_commit(&mut c, &row(i, pass), Utc::now()).await.expect("sqlx commit");
                    }
                }
                Driver::TokioPostgres | Driver::TokioPostgresPipelined => {
                    let pipelined = matches!(driver, Driver::TokioPostgresPipelined);
                    let mut c = tpg_connect(&url, sync_off).await;
                    let s = tpg_prepare(&c).await.expect("prepare");
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        tpg_commit(&mut c, &s, &row(i, pass), Utc::now(), pipelined).await.expect("tokio-postgres commit");
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    start.elapsed()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = parse_args();
    let admin = tpg_connect(&format!("{}/postgres", args.url), false).await;
    println!(
        "{} members, {} connections, synchronous_commit {}",
        args.members,
        args.concurrency,
        if args.sync_commit_off { "off" } else { "on" }
    );
    let mut rates = Vec::new();
    for driver in [Driver::Sqlx, Driver::TokioPostgres, Driver::TokioPostgresPipelined] {
        // A database per driver, so each starts from the same empty state.
        let db = format!("amsync_bench_{}_{}", std::process::id(), format!("{driver:?}").to_lowercase());
        admin.batch_execute(&format!("CREATE DATABASE {db}")).await.expect("create the bench database");
        let url = format!("{}/{db}", args.url);
        tpg_connect(&url, false).await.batch_execute(SCHEMA).await.expect("schema");
        let mut per_pass = Vec::new();
        for p in 0..2 {
            let wall = pass(driver, &url, &args, p).await;
            let rate = args.members as f64 / wall.as_secs_f64();
            println!(
                "{driver:?}: {} {:>8.0} members/s ({:.2} s)",
                if p == 0 { "first load " } else { "second load" },
                rate,
                wall.as_secs_f64()
            );
            per_pass.push(rate);
        }
        rates.push((driver, per_pass));
        admin.batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)")).await.expect("drop the bench database");
    }
    let sqlx = &rates[0].1;
    for (driver, r) in &rates[1..] {
        println!(
            "{driver:?} / Sqlx: first load {:.2}x, second load {:.2}x",
            r[0] / sqlx[0],
            r[1] / sqlx[1]
        );
    }
}
