//! Turns within this process: callers that name the same gate run one at a time, in the
//! order they arrive. A gate lives only while someone holds or awaits it, so the map stays as
//! small as the work in flight. Names carry their user's prefix (`login:`, `addr:`,
//! `password:`, `idempotency:`), so different uses never share a gate.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use tokio::sync::OwnedMutexGuard;

static GATES: LazyLock<Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Default::default);

/// Waits for the gate `name` and holds it until the guard is dropped.
pub async fn turn(name: &str) -> OwnedMutexGuard<()> {
    let lock = {
        let mut gates = GATES.lock().unwrap_or_else(|p| p.into_inner());
        gates.retain(|_, g| g.strong_count() > 0);
        match gates.get(name).and_then(Weak::upgrade) {
            Some(lock) => lock,
            None => {
                let lock = Arc::new(tokio::sync::Mutex::new(()));
                gates.insert(name.to_string(), Arc::downgrade(&lock));
                lock
            }
        }
    };
    lock.lock_owned().await
}
