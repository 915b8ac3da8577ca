//! The baseline of the read benchmark: bare tokio "meters" that answer each wrapper frame with a
//! frame of the size the real meter's answer has, on the same kind of addresses, so the only
//! difference left is the DLMS work (codec, sessions, COSEM application).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::reads::Exchange;
use crate::app::meters::raise_open_file_limit;
use crate::dlms::wrapper::HEADER_LEN;

#[derive(Debug, Clone, Args)]
pub struct BareArgs {
    #[arg(long)]
    pub count: u32,
    /// The first address; the others count up from it.
    #[arg(long)]
    pub listen: SocketAddr,
    /// APDU sizes of the answers, one per request of a connection, in order.
    #[arg(long, value_delimiter = ',', required = true)]
    pub replies: Vec<u16>,
    /// Stop after this many seconds (SIGTERM stops it too).
    #[arg(long, default_value_t = 900.0)]
    pub duration: f64,
}

/// The command line that starts the baseline for `exchange` on `count` addresses from `listen`.
pub fn command(exchange: &Exchange, count: u32, listen: SocketAddr) -> Vec<String> {
    let replies: Vec<String> = exchange
        .steps
        .iter()
        .map(|s| s.response.to_string())
        .collect();
    vec![
        "bench".into(),
        "bare-meters".into(),
        "--count".into(),
        count.to_string(),
        "--listen".into(),
        listen.to_string(),
        "--replies".into(),
        replies.join(","),
    ]
}

/// A wrapper frame (server 1 to the public client 16) around `apdu_len` zero bytes.
pub fn frame(source: u16, destination: u16, apdu_len: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + apdu_len as usize);
    for field in [1, source, destination, apdu_len] {
        out.extend_from_slice(&field.to_be_bytes());
    }
    out.resize(HEADER_LEN + apdu_len as usize, 0);
    out
}

pub fn run(args: &BareArgs) -> Result<(), String> {
    let SocketAddr::V4(base) = args.listen else {
        return Err("--listen must be IPv4".into());
    };
    raise_open_file_limit();
    let replies: Arc<Vec<Vec<u8>>> =
        Arc::new(args.replies.iter().map(|&n| frame(1, 16, n)).collect());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| e.to_string())?;
        for i in 0..args.count {
            let ip = Ipv4Addr::from(u32::from(*base.ip()) + i);
            let addr = SocketAddr::from((ip, base.port()));
            let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
            socket.set_reuseaddr(true).map_err(|e| e.to_string())?;
            socket
                .bind(addr)
                .map_err(|e| format!("binding {addr}: {e}"))?;
            let listener = socket.listen(128).map_err(|e| e.to_string())?;
            let replies = replies.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(stream, replies.clone()));
                }
            });
        }
        eprintln!("{} bare meters ready on {}", args.count, args.listen);
        tokio::select! {
            _ = term.recv() => {}
            () = tokio::time::sleep(Duration::from_secs_f64(args.duration.max(0.0))) => {}
        }
        Ok(())
    })
}

/// Answers every complete frame with the next reply until the client closes.
async fn serve(mut stream: TcpStream, replies: Arc<Vec<Vec<u8>>>) {
    stream.set_nodelay(true).ok();
    let mut buf = vec![0u8; 4096];
    let (mut filled, mut step) = (0, 0);
    loop {
        match stream.read(&mut buf[filled..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => filled += n,
        }
        let mut start = 0;
        while filled - start >= HEADER_LEN {
            let len = u16::from_be_bytes([buf[start + 6], buf[start + 7]]) as usize;
            if filled - start < HEADER_LEN + len {
                break;
            }
            start += HEADER_LEN + len;
            if stream
                .write_all(&replies[step % replies.len()])
                .await
                .is_err()
            {
                return;
            }
            step += 1;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if filled == buf.len() {
            return; // a frame longer than any request of the exchange
        }
    }
}
