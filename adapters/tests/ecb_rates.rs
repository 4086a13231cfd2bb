//! The ECB adapter against a local HTTP server: the TTL cache (on the simulated clock), the fallback to the last
//! good rates, and to the shipped snapshot when there are none.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use consentry_adapters::ecb::EcbRates;
use consentry_adapters::SimulatedClock;
use consentry_domain::rates::RatesPort;
use consentry_domain::Currency;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const DAY_ONE: &str = "<Cube><Cube time='2026-11-19'><Cube currency='USD' rate='1.1500'/></Cube></Cube>";
const DAY_TWO: &str = "<Cube><Cube time='2026-11-20'><Cube currency='USD' rate='1.1600'/></Cube></Cube>";

/// A one-route HTTP server answering each request with the current body; counts the requests.
async fn serve(body: Arc<Mutex<&'static str>>, hits: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            hits.fetch_add(1, Ordering::SeqCst);
            let mut request = [0u8; 2048];
            let _ = socket.read(&mut request).await;
            let body = *body.lock().expect("body lock");
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    format!("http://{address}/eurofxref-daily.xml")
}

#[tokio::test]
async fn rates_are_cached_for_the_ttl_then_refetched() {
    let body = Arc::new(Mutex::new(DAY_ONE));
    let hits = Arc::new(AtomicUsize::new(0));
    let url = serve(body.clone(), hits.clone()).await;
    let clock = Arc::new(SimulatedClock::starting_at(
        Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap(),
    ));
    let rates = EcbRates::new(url, Duration::hours(1), clock.clone()).expect("client");
    let usd = Currency::parse("USD").expect("usd");

    let first = rates.current().await.expect("rates");
    assert_eq!(first.date.to_string(), "2026-11-19");
    assert!(first.source.starts_with("ECB eurofxref"), "{}", first.source);
    *body.lock().expect("body lock") = DAY_TWO;
    clock.advance(Duration::minutes(59));
    assert_eq!(rates.current().await.expect("cached").date.to_string(), "2026-11-19");
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    clock.advance(Duration::minutes(2));
    let refreshed = rates.current().await.expect("refetched");
    assert_eq!(refreshed.date.to_string(), "2026-11-20");
    assert_eq!(refreshed.rate(Currency::EUR, usd).expect("rate").to_string(), "1.1600");
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // A broken feed keeps the last good rates rather than failing or inventing any.
    *body.lock().expect("body lock") = "<html>maintenance</html>";
    clock.advance(Duration::hours(2));
    assert_eq!(rates.current().await.expect("last good").date.to_string(), "2026-11-20");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn without_any_good_rates_the_shipped_snapshot_is_used() {
    let clock = Arc::new(SimulatedClock::starting_at(
        Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap(),
    ));
    // Port 9 (discard) on loopback: nothing listens there.
    let rates = EcbRates::new("http://127.0.0.1:9/eurofxref-daily.xml", Duration::hours(1), clock).expect("client");
    let table = rates.current().await.expect("snapshot");
    assert!(table.source.contains("snapshot"), "{}", table.source);
    assert_eq!(table.date.to_string(), "2026-11-20");
}
