//! The task that runs the model on the real clock: timers, RADIUS requests, notifications.

use std::sync::Arc;
use std::time::Duration;

use super::{now, Shared};
use crate::operator::{AaaRequest, Timestamp};

/// The longest the driver sleeps without looking (subscription expiry, clock drift).
const MAX_SLEEP: Duration = Duration::from_secs(1);

pub async fn run(shared: Arc<Shared>) {
    loop {
        let (requests, deadline) = tick(&shared);
        for req in requests {
            spawn_aaa(&shared, req);
        }
        let t = now();
        let sleep = deadline
            .map_or(MAX_SLEEP, |d| {
                Duration::from_millis(d.as_millis().saturating_sub(t.as_millis()))
            })
            .min(MAX_SLEEP);
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = shared.wake.notified() => {}
        }
    }
}

/// Advances the model to now and collects its output; notifications go straight to the sinks.
fn tick(shared: &Shared) -> (Vec<AaaRequest>, Option<Timestamp>) {
    let t = now();
    let mut world = shared.world();
    let world = &mut *world;
    world.net.handle_timeout(t);
    let mut requests = Vec::new();
    while let Some(r) = world.net.poll_aaa() {
        requests.push(r);
    }
    while let Some(e) = world.net.poll_event() {
        shared.meters.forward(&e);
        world.subs.dispatch(&e, &world.net);
    }
    world.subs.sweep(t);
    let deadline = [world.net.poll_timeout(), world.subs.next_expiry()]
        .into_iter()
        .flatten()
        .min();
    (requests, deadline)
}

fn spawn_aaa(shared: &Arc<Shared>, req: AaaRequest) {
    let shared = shared.clone();
    match req {
        AaaRequest::Authenticate(r) => {
            let id = r.id;
            let fut = shared.aaa.authenticate(r);
            tokio::spawn(async move {
                let outcome = fut.await;
                shared.world().net.handle_auth_result(id, outcome, now());
                shared.kick();
            });
        }
        AaaRequest::Account(r) => {
            let fut = shared.aaa.account(r);
            tokio::spawn(fut);
        }
    }
}
