//! Slow clients cannot hold the server: connections that never finish their
//! headers, and kept-alive connections left idle, are closed after the header
//! timeout, and past the connection limit new clients wait their turn, while
//! normal requests keep being answered throughout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use turnstile::decide::Engine;
use turnstile::policy::PolicyPack;
use turnstile::store::Store;
use turnstile::time::Clock;

use crate::common::{RunningServer, TOKEN, repo_path};
use crate::http_client::try_request;

async fn server(header_timeout: Duration, max_connections: usize) -> (RunningServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("slow.db");
    let store = Store::open(&db).unwrap();
    let pack = PolicyPack::load(&repo_path("policies")).unwrap();
    let engine = Arc::new(Engine::new(pack, store, Clock::system()).unwrap());
    let server = RunningServer::start_with(engine, &db, TOKEN, |c| {
        c.header_timeout = header_timeout;
        c.max_connections = max_connections;
    })
    .await;
    (server, dir)
}

/// Whether the server has closed `stream` (reads EOF or an error within `wait`).
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 512];
    match tokio::time::timeout(wait, stream.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) => {
            // An error answer (408) before closing is fine: read on to the end.
            matches!(
                tokio::time::timeout(wait, stream.read_to_end(&mut Vec::new())).await,
                Ok(Ok(_)) | Ok(Err(_))
            )
        }
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_finish_their_headers_are_closed_while_others_are_served() {
    let (server, _dir) = server(Duration::from_millis(700), 4096).await;
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"POST /access/v1/evaluation HTTP/1.1\r\nHost: x\r\nContent-")
            .await
            .unwrap();
        slow.push(s);
    }
    // Meanwhile normal requests are answered.
    let (status, _) = try_request(server.addr, "GET", "/health/live", None, None)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let started = Instant::now();
    let mut closed = 0;
    for s in &mut slow {
        if closed_within(s, Duration::from_secs(5)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 200, "every slow connection is closed");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let (status, _) = try_request(server.addr, "GET", "/health/live", None, None)
        .await
        .unwrap();
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed_after_the_timeout() {
    let (server, _dir) = server(Duration::from_millis(700), 4096).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive, then left idle: closed.
    assert!(closed_within(&mut s, Duration::from_secs(5)).await);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_limit_clients_wait_and_are_served_when_a_slot_frees() {
    let (server, _dir) = server(Duration::from_millis(800), 8).await;
    let mut hogs = Vec::new();
    for _ in 0..8 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"GET /health/live HTTP/1.1\r\n").await.unwrap();
        hogs.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The ninth client waits (accepted by the kernel, not by the server)...
    let started = Instant::now();
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        try_request(server.addr, "GET", "/health/live", None, None),
    )
    .await
    .expect("answered once the slow clients are closed")
    .unwrap();
    assert_eq!(answer.0, 200);
    // ...until the header timeout frees the slots the slow ones held.
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    drop(hogs);
    server.stop().await;
}
