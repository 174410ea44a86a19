//! `fleetdeck tunnel TARGET --remote-port R [--local-port L] [--remote-host H] [--bind ADDR]`:
//! forwards a local port until interrupted; the first stdout line is the local address.
//! `fleetdeck proxy TARGET [--port 22]`: stdin/stdout bridged to a port on the instance
//! (AWS-StartSSHSession), for ssh's ProxyCommand.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};

use bytes::Bytes;
use clap::Args;

use crate::channel::port::RawSession;
use crate::channel::{SessionEvent, SessionState};
use crate::tunnel::{Tunnel, TunnelSpec, TunnelState};

use super::connect::resolve_target;
use super::{Cli, CliResult, Failure, not_connected};

#[derive(Debug, Args)]
pub struct TunnelArgs {
    /// An instance id, a Name, or a query matching exactly one instance.
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// The port to reach (on the instance, or on --remote-host through it): 1 to 65535.
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub remote_port: u16,
    /// Local port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0, value_name = "PORT")]
    pub local_port: u16,
    /// Forward to this host through the instance (AWS-StartPortForwardingSessionToRemoteHost).
    #[arg(long, value_name = "HOST")]
    pub remote_host: Option<String>,
    /// Local address to listen on; only loopback unless you ask.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST), value_name = "ADDR")]
    pub bind: IpAddr,
}

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// An instance id, a Name, or a query matching exactly one instance.
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// The port on the instance: 1 to 65535.
    #[arg(long, default_value_t = 22, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
}

pub async fn run(cli: &Cli, args: &TunnelArgs) -> CliResult {
    let resolved = resolve_target(cli, &args.target).await?;
    let (clients, instance_id) = (resolved.clients.clone(), resolved.instance_id.clone());
    let spec = TunnelSpec {
        target: instance_id.clone(),
        remote_port: args.remote_port,
        remote_host: args.remote_host.clone(),
        bind: args.bind,
        local_port: args.local_port,
    };
    let (tunnel, mut states) = Tunnel::start(clients, spec).await.map_err(|e| {
        Failure::Other(format!(
            "cannot listen on {}:{}: {e}",
            args.bind, args.local_port
        ))
    })?;
    let via = match &args.remote_host {
        Some(h) => format!("{instance_id} → {h}"),
        None => instance_id.clone(),
    };
    let mut announced = false;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {
                tunnel.close();
                eprintln!("Tunnel closed.");
                return Ok(());
            }
            state = states.recv() => match state {
                Some(TunnelState::Listening) if !announced => {
                    announced = true;
                    println!("Listening on {} → {via}:{}", tunnel.local_addr(), args.remote_port);
                    let _ = std::io::stdout().flush();
                    if let Some(warning) =
                        exposure_warning(tunnel.local_addr(), &via, args.remote_port)
                    {
                        eprintln!("{warning}");
                    }
                }
                Some(TunnelState::Listening) => eprintln!("Tunnel reconnected."),
                Some(TunnelState::Reconnecting { attempt, why }) if attempt > 1 => {
                    eprintln!("Tunnel reconnecting (attempt {attempt}): {why}")
                }
                Some(TunnelState::Reconnecting { why, .. }) => eprintln!("Tunnel reconnecting: {why}"),
                Some(TunnelState::Starting) => {}
                Some(TunnelState::Failed { why }) => {
                    return Err(not_connected::explain(&resolved, &args.target, why).await);
                }
                Some(TunnelState::Closed) => return Ok(()),
                None => return Err(Failure::Other("the tunnel stopped".into())),
            }
        }
    }
}

/// The tunnel has no authentication of its own: when it listens beyond loopback (`--bind`),
/// say who can now use it.
fn exposure_warning(local: std::net::SocketAddr, via: &str, remote_port: u16) -> Option<String> {
    (!local.ip().is_loopback()).then(|| {
        format!(
            "warning: {} is not a loopback address: anyone who can reach this machine on port {} \
             reaches {via}:{remote_port} with your AWS permissions",
            local.ip(),
            local.port()
        )
    })
}

pub async fn proxy(cli: &Cli, args: &ProxyArgs) -> CliResult {
    let resolved = resolve_target(cli, &args.target).await?;
    let started = RawSession::start_ssh(&resolved.clients, &resolved.instance_id, args.port).await;
    let RawSession {
        handle,
        input,
        mut events,
    } = match started {
        Ok(session) => session,
        Err(e) => {
            return Err(not_connected::explain(&resolved, &args.target, e.to_string()).await);
        }
    };
    // A plain thread, not tokio's stdin: a blocking read on the runtime's blocking pool would
    // keep the process alive after the session ended (the runtime waits for it on shutdown)
    // until the caller closed our stdin.
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match std::io::Read::read(&mut stdin, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if input
                        .blocking_send(Bytes::copy_from_slice(&buf[..n]))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        // The session stays until the destination closes: ssh still reads after stdin ends.
        drop(input);
    });
    let mut stdout = std::io::stdout().lock();
    while let Some(event) = events.recv().await {
        match event {
            SessionEvent::Output(bytes) => {
                if stdout
                    .write_all(&bytes)
                    .and_then(|_| stdout.flush())
                    .is_err()
                {
                    break;
                }
            }
            SessionEvent::State(SessionState::Closed { reason }) => {
                // As `connect`: a session that ended by failure is status 1 with its reason.
                if handle.failed() {
                    return Err(Failure::Other(reason));
                }
                break;
            }
            SessionEvent::State(_) => {}
        }
    }
    drop(handle);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_listener_beyond_loopback_is_warned_about() {
        let at = |a: &str| a.parse().expect("literal address");
        assert_eq!(exposure_warning(at("127.0.0.1:5432"), "i-1", 5432), None);
        assert_eq!(exposure_warning(at("[::1]:5432"), "i-1", 5432), None);
        let warning = exposure_warning(at("0.0.0.0:15432"), "i-1", 5432).expect("warned");
        assert!(warning.contains("port 15432 reaches i-1:5432"), "{warning}");
    }
}
