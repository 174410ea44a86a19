//! The demo's database: a small line-based service on loopback standing in for a database that
//! sits behind the fleet, so a new user can forward "the database port through a host". The
//! simulated agent resolves [`DEMO_DB_HOST`] to 127.0.0.1, as a VPC's private DNS would resolve
//! a database's name for a real agent. Loopback only, like the rest of the simulator.
//!
//! Protocol: a greeting line, then one reply line per request line: `PING` → `PONG`,
//! `SET key value` → `OK`, `GET key` → the value or `(nil)`, `KEYS` → the keys, `QUIT` → `BYE`
//! and the connection closes; anything else → `ERR unknown command`.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The database's host name as the simulated agent resolves it (to 127.0.0.1).
pub const DEMO_DB_HOST: &str = "db.demo.internal";
/// The port tried first (PostgreSQL's, one of the form's presets); taken → a free one.
pub const DEMO_DB_PORT: u16 = 5432;
pub const GREETING: &str = "fleetdeck demo database ready: PING, SET k v, GET k, KEYS, QUIT";

/// A running demo database; it serves until the runtime ends.
#[derive(Debug, Clone, Copy)]
pub struct DemoDb {
    pub addr: SocketAddr,
}

impl DemoDb {
    /// Listens on 127.0.0.1:5432, or a free loopback port when that one is taken.
    pub async fn start() -> std::io::Result<DemoDb> {
        let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, DEMO_DB_PORT)).await {
            Ok(l) => l,
            Err(_) => TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?,
        };
        Self::serve(listener)
    }

    /// Serves on a listener the caller bound (tests use port 0).
    pub fn serve(listener: TcpListener) -> std::io::Result<DemoDb> {
        let addr = listener.local_addr()?;
        let data: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
        data.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert("greeting".into(), "hello through the tunnel".into());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(client(tcp, data.clone()));
            }
        });
        Ok(DemoDb { addr })
    }
}

async fn client(tcp: TcpStream, data: Arc<Mutex<BTreeMap<String, String>>>) {
    let (read, mut write) = tcp.into_split();
    let mut lines = BufReader::new(read).lines();
    if write
        .write_all(format!("{GREETING}\r\n").as_bytes())
        .await
        .is_err()
    {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let (reply, quit) = answer(line.trim(), &data);
        if write
            .write_all(format!("{reply}\r\n").as_bytes())
            .await
            .is_err()
            || quit
        {
            return;
        }
    }
}

fn answer(line: &str, data: &Mutex<BTreeMap<String, String>>) -> (String, bool) {
    let mut words = line.splitn(3, ' ');
    let command = words.next().unwrap_or_default().to_ascii_uppercase();
    let mut data = data.lock().unwrap_or_else(PoisonError::into_inner);
    let reply = match (command.as_str(), words.next(), words.next()) {
        ("PING", None, None) => "PONG".to_owned(),
        ("SET", Some(k), Some(v)) => {
            data.insert(k.to_owned(), v.to_owned());
            "OK".to_owned()
        }
        ("GET", Some(k), None) => data.get(k).cloned().unwrap_or_else(|| "(nil)".into()),
        ("KEYS", None, None) => data.keys().cloned().collect::<Vec<_>>().join(" "),
        ("QUIT", None, None) => return ("BYE".into(), true),
        _ => "ERR unknown command".to_owned(),
    };
    (reply, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_line_by_line() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let db = DemoDb::serve(listener).expect("serve");
        let tcp = TcpStream::connect(db.addr).await.expect("connect");
        let (read, mut write) = tcp.into_split();
        let mut lines = BufReader::new(read).lines();
        assert_eq!(
            lines.next_line().await.expect("read").as_deref(),
            Some(GREETING)
        );
        let mut ask = async |q: &str| {
            write
                .write_all(format!("{q}\n").as_bytes())
                .await
                .expect("write");
            lines.next_line().await.expect("read").expect("a line")
        };
        assert_eq!(ask("PING").await, "PONG");
        assert_eq!(ask("SET k v w").await, "OK");
        assert_eq!(ask("GET k").await, "v w");
        assert_eq!(ask("GET nope").await, "(nil)");
        assert_eq!(ask("KEYS").await, "greeting k");
        assert_eq!(ask("FLY").await, "ERR unknown command");
        assert_eq!(ask("QUIT").await, "BYE");
    }
}
