//! [`HealthReporter`]: where a program sets its services' statuses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;
use wren_server::NamedService;

use crate::{HealthServer, ServingStatus};

/// A service's status; `None` while it was only watched, never reported.
pub(crate) type Slot = watch::Sender<Option<ServingStatus>>;

/// The statuses, shared by the reporter and the server.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    services: Mutex<HashMap<String, Slot>>,
}

impl Registry {
    pub(crate) fn lock(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        // A panic while holding this lock leaves the map whole: keep going.
        self.services.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The status reported for `service`, if any.
    pub(crate) fn get(&self, service: &str) -> Option<ServingStatus> {
        self.lock().get(service).and_then(|slot| *slot.borrow())
    }

    /// A receiver of `service`'s status, created unknown if needed.
    pub(crate) fn watch(&self, service: &str) -> watch::Receiver<Option<ServingStatus>> {
        self.lock()
            .entry(service.to_owned())
            .or_insert_with(|| watch::Sender::new(None))
            .subscribe()
    }

    fn set(&self, service: &str, status: Option<ServingStatus>) {
        let mut services = self.lock();
        match services.get(service) {
            // Watchers hear only real changes.
            Some(slot) => {
                slot.send_if_modified(|current| {
                    let changed = *current != status;
                    *current = status;
                    changed
                });
            }
            None if status.is_some() => {
                services.insert(service.to_owned(), watch::Sender::new(status));
            }
            None => {}
        }
    }
}

/// Sets the status of each service a [`HealthServer`] reports. Cheap to
/// clone; every clone sets the same statuses.
#[derive(Clone, Debug)]
pub struct HealthReporter {
    registry: Arc<Registry>,
}

/// A reporter and the health service it feeds. The server as a whole (the
/// service name `""`) starts as `SERVING`.
pub fn health_reporter() -> (HealthReporter, HealthServer) {
    let registry = Arc::new(Registry::default());
    let reporter = HealthReporter {
        registry: Arc::clone(&registry),
    };
    reporter.set_service_status("", ServingStatus::Serving);
    (reporter, HealthServer::new(registry))
}

impl HealthReporter {
    /// Sets `service`'s status (its full proto name, such as
    /// `hello.v1.Greeter`; `""` for the whole server). `Watch` calls on it
    /// receive the new status if it changed.
    pub fn set_service_status(&self, service: &str, status: ServingStatus) {
        self.registry.set(service, Some(status));
    }

    /// Sets the status of a registered service, by its [`NamedService`] name.
    pub fn set_status_of<S: NamedService + ?Sized>(&self, service: &S, status: ServingStatus) {
        self.set_service_status(service.service_name(), status);
    }

    /// `SERVING` for `service`.
    pub fn set_serving<S: NamedService + ?Sized>(&self, service: &S) {
        self.set_status_of(service, ServingStatus::Serving);
    }

    /// `NOT_SERVING` for `service`.
    pub fn set_not_serving<S: NamedService + ?Sized>(&self, service: &S) {
        self.set_status_of(service, ServingStatus::NotServing);
    }

    /// Forgets `service`: `Check` answers `NOT_FOUND` again and `Watch`
    /// calls on it receive `SERVICE_UNKNOWN`.
    pub fn clear_service_status(&self, service: &str) {
        self.registry.set(service, None);
    }

    /// The status last set for `service`, if any.
    pub fn service_status(&self, service: &str) -> Option<ServingStatus> {
        self.registry.get(service)
    }
}
