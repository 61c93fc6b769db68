//! Measures the simulated AMS: generation time, and requests/s of member
//! document GETs over keep-alive connections on loopback. Prints figures,
//! asserts nothing.
//!
//! ```text
//! cargo run --release -p amsync-sim --example load -- [--members 100000] [--seconds 10]
//!     [--connections 32] [--sim-workers 1] [--url http://127.0.0.1:8099]
//! ```
//! Without `--url` the sim runs in this process on its own runtime with
//! `--sim-workers` threads and the load generator on another single-thread
//! runtime; with `--url` it loads a separately started sim (`--example
//! sim_ams`), whose `/_sim/stats` then shows the sim's own CPU alone.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amsync_sim::{member_key, Sim, SimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One measured run: a name, the path of the i-th request, how many
/// distinct requests, and whether each is sent exactly once.
struct Run {
    name: &'static str,
    path: Box<dyn Fn(usize) -> String>,
    count: usize,
    once: bool,
}

struct Args {
    members: usize,
    seconds: u64,
    connections: usize,
    sim_workers: usize,
    url: Option<String>,
}

fn args() -> Args {
    let mut a = Args { members: 100_000, seconds: 10, connections: 32, sim_workers: 1, url: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--members" => a.members = v.parse().unwrap(),
            "--seconds" => a.seconds = v.parse().unwrap(),
            "--connections" => a.connections = v.parse().unwrap(),
            "--sim-workers" => a.sim_workers = v.parse().unwrap(),
            "--url" => a.url = Some(v),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn main() {
    let args = args();
    let members = args.members;

    let started = Instant::now();
    let sim = Sim::new(&SimConfig { members, ..SimConfig::default() });
    println!("start-up (index of {members} members): {:?}", started.elapsed());
    let started = Instant::now();
    let truths = sim.truths();
    println!("generating all {} members' data (details, memberships, groups): {:?}", truths.len(), started.elapsed());
    drop((truths, sim));

    let (addr, handle) = match &args.url {
        Some(url) => (url.trim_start_matches("http://").trim_end_matches('/').parse::<SocketAddr>().unwrap(), None),
        None => {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let config = SimConfig { members, ..SimConfig::default() };
            let handle = amsync_sim::start_dedicated(config, listener, args.sim_workers).unwrap();
            (handle.addr(), Some(handle))
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut members_total = members;
        if args.url.is_some() {
            members_total = stats(addr).await["members"].as_u64().unwrap() as usize;
        }
        let doc = |suffix: &'static str| move |i: usize| format!("/members/{}{suffix}", member_key(i as u32));
        let all_three = |i: usize| match i % 3 {
            0 => format!("/members/{}", member_key((i / 3) as u32)),
            1 => format!("/members/{}/communities", member_key((i / 3) as u32)),
            _ => format!("/members/{}/security-groups", member_key((i / 3) as u32)),
        };
        let secs = Duration::from_secs(args.seconds);
        let runs = vec![
            Run {
                name: "cold: first GET /members/{key} of every member (renders)",
                path: Box::new(doc("")),
                count: members_total,
                once: true,
            },
            Run { name: "warm: GET /members/{key}", path: Box::new(doc("")), count: members_total, once: false },
            Run {
                name: "member refresh mix: details + communities + groups",
                path: Box::new(all_three),
                count: members_total * 3,
                once: false,
            },
            Run { name: "warm: GET /members/{key} (XML)", path: Box::new(doc("")), count: members_total, once: false },
        ];
        let whose = if args.url.is_some() { "sim alone" } else { "sim + load generator" };
        for Run { name, path, count, once } in runs {
            let xml = name.contains("XML");
            let requests: Arc<Vec<Vec<u8>>> = Arc::new(
                (0..count)
                    .map(|i| {
                        let accept = if xml { "Accept: application/xml\r\n" } else { "" };
                        format!("GET {} HTTP/1.1\r\nHost: sim\r\n{accept}\r\n", path(i)).into_bytes()
                    })
                    .collect(),
            );
            reset(addr).await;
            let (done, elapsed, failures) = load(addr, requests, args.connections, secs, once).await;
            let s = stats(addr).await;
            println!(
                "{name}: {done} requests in {:.2}s = {:.0} req/s ({failures} non-200); \
                 cpu_share {:.2} ({whose}), sim runtime cpu_share {}, rss {:.0} MB",
                elapsed.as_secs_f64(),
                done as f64 / elapsed.as_secs_f64(),
                s["cpu_share"].as_f64().unwrap(),
                s["runtime_cpu_share"].as_f64().map_or("-".to_string(), |c| format!("{c:.2}")),
                s["rss_mb"].as_f64().unwrap(),
            );
        }
    });
    drop(handle);
}

/// Sends the requests round-robin over `connections` keep-alive
/// connections for `duration` (or each request exactly once when `once`).
async fn load(
    addr: SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    connections: usize,
    duration: Duration,
    once: bool,
) -> (u64, Duration, u64) {
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (requests, next, done, failures) = (requests.clone(), next.clone(), done.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut buf = Vec::with_capacity(64 * 1024);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if (once && i >= requests.len()) || (!once && Instant::now() >= deadline) {
                    break;
                }
                stream.write_all(&requests[i % requests.len()]).await.unwrap();
                if read_response(&mut stream, &mut buf).await != 200 {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (done.load(Ordering::Relaxed), started.elapsed(), failures.load(Ordering::Relaxed))
}

/// Reads one HTTP/1.1 response with a Content-Length; returns its status.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> u16 {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).unwrap();
            let status: u16 = head[9..12].parse().unwrap();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            let total = end + 4 + length;
            while buf.len() < total {
                fill(stream, buf).await;
            }
            buf.drain(..total);
            return status;
        }
        fill(stream, buf).await;
    }
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await.unwrap();
    assert!(n > 0, "connection closed");
    buf.extend_from_slice(&chunk[..n]);
}

async fn control(addr: SocketAddr, request: &str) -> serde_json::Value {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap()
}

async fn stats(addr: SocketAddr) -> serde_json::Value {
    control(addr, "GET /_sim/stats HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n").await
}

async fn reset(addr: SocketAddr) {
    control(addr, "POST /_sim/stats/reset HTTP/1.1\r\nHost: sim\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await;
}
