//! [`Extensions`]: a typed map for values attached to a request or response.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

enum Value {
    Owned(Box<dyn Any + Send + Sync>),
    /// A value shared by many requests (per-connection data): attaching it
    /// costs a reference count, not an allocation.
    Shared(Arc<dyn Any + Send + Sync>),
}

impl Value {
    fn as_any(&self) -> &(dyn Any + Send + Sync) {
        match self {
            Value::Owned(b) => &**b,
            Value::Shared(a) => &**a,
        }
    }

    fn as_any_mut(&mut self) -> Option<&mut (dyn Any + Send + Sync)> {
        match self {
            Value::Owned(b) => Some(&mut **b),
            Value::Shared(a) => Arc::get_mut(a),
        }
    }

    fn into_value<T: Send + Sync + 'static>(self) -> Option<T> {
        match self {
            Value::Owned(b) => b.downcast().ok().map(|b| *b),
            Value::Shared(a) => a.downcast::<T>().ok().and_then(|a| Arc::try_unwrap(a).ok()),
        }
    }
}

/// A map from type to value, one value per type.
///
/// The transport puts the peer's address and credentials here; an accept hook
/// or a tower layer can add its own types (an authenticated identity, say).
/// Empty extensions allocate nothing; the first value is stored inline, and
/// a value shared across requests ([`Extensions::insert_shared`]) is attached
/// without allocating — every server request carries its connection's peer
/// that way.
///
/// ```
/// use wren_transport::Extensions;
///
/// #[derive(Debug, PartialEq)]
/// struct Tenant(&'static str);
///
/// let mut ext = Extensions::new();
/// ext.insert(Tenant("blue"));
/// assert_eq!(ext.get::<Tenant>(), Some(&Tenant("blue")));
/// ```
#[derive(Default)]
pub struct Extensions {
    first: Option<(TypeId, Value)>,
    // A handful of entries at most in practice: a vector beats a hash map.
    rest: Vec<(TypeId, Value)>,
}

impl Extensions {
    /// Empty extensions.
    pub const fn new() -> Extensions {
        Extensions {
            first: None,
            rest: Vec::new(),
        }
    }

    fn slot_mut(&mut self, id: TypeId) -> Option<&mut Value> {
        if let Some((t, v)) = &mut self.first {
            if *t == id {
                return Some(v);
            }
        }
        self.rest.iter_mut().find(|(t, _)| *t == id).map(|(_, v)| v)
    }

    fn slot(&self, id: TypeId) -> Option<&Value> {
        if let Some((t, v)) = &self.first {
            if *t == id {
                return Some(v);
            }
        }
        self.rest.iter().find(|(t, _)| *t == id).map(|(_, v)| v)
    }

    fn put(&mut self, id: TypeId, value: Value) -> Option<Value> {
        if let Some(slot) = self.slot_mut(id) {
            return Some(std::mem::replace(slot, value));
        }
        if self.first.is_none() {
            self.first = Some((id, value));
        } else {
            self.rest.push((id, value));
        }
        None
    }

    /// Stores `value`, returning the previous value of its type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        self.put(TypeId::of::<T>(), Value::Owned(Box::new(value)))
            .and_then(Value::into_value)
    }

    /// Stores a value shared with other requests; [`Extensions::get`] finds
    /// it as a `T`. Cheaper than [`Extensions::insert`] for per-connection
    /// data attached to every request.
    pub fn insert_shared<T: Send + Sync + 'static>(&mut self, value: Arc<T>) {
        self.put(TypeId::of::<T>(), Value::Shared(value));
    }

    /// The value of type `T`.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.slot(TypeId::of::<T>())?.as_any().downcast_ref()
    }

    /// The value of type `T`, mutably (`None` for a shared value that other
    /// requests still hold).
    pub fn get_mut<T: Send + Sync + 'static>(&mut self) -> Option<&mut T> {
        self.slot_mut(TypeId::of::<T>())?
            .as_any_mut()?
            .downcast_mut()
    }

    /// Removes the value of type `T`, returning it (for a shared value, only
    /// if this was its last holder).
    pub fn remove<T: Send + Sync + 'static>(&mut self) -> Option<T> {
        let id = TypeId::of::<T>();
        if self.first.as_ref().is_some_and(|(t, _)| *t == id) {
            let (_, value) = self.first.take()?;
            if !self.rest.is_empty() {
                self.first = Some(self.rest.swap_remove(0));
            }
            return value.into_value();
        }
        let i = self.rest.iter().position(|(t, _)| *t == id)?;
        self.rest.swap_remove(i).1.into_value()
    }

    /// Whether no value is stored.
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Moves every value of `other` into `self`, replacing values of the same type.
    pub fn extend(&mut self, other: Extensions) {
        for (id, value) in other.first.into_iter().chain(other.rest) {
            self.put(id, value);
        }
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = usize::from(self.first.is_some()) + self.rest.len();
        f.debug_struct("Extensions").field("len", &len).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct A(u8);
    #[derive(Debug, PartialEq)]
    struct B(u8);

    #[test]
    fn owned_and_shared_values() {
        let mut ext = Extensions::new();
        assert!(ext.is_empty());
        assert_eq!(ext.insert(A(1)), None);
        let shared = Arc::new(B(2));
        ext.insert_shared(shared.clone());
        assert_eq!(ext.get::<A>(), Some(&A(1)));
        assert_eq!(ext.get::<B>(), Some(&B(2)));
        // A shared value others hold cannot be changed or taken.
        assert!(ext.get_mut::<B>().is_none());
        assert_eq!(ext.insert(A(3)), Some(A(1)));
        ext.get_mut::<A>().unwrap().0 = 4;
        assert_eq!(ext.remove::<A>(), Some(A(4)));
        assert_eq!(ext.get::<B>(), Some(&B(2)), "the other value moved up");
        drop(shared);
        assert_eq!(ext.remove::<B>(), Some(B(2)), "the last holder takes it");
        assert!(ext.is_empty());
    }

    #[test]
    fn extend_replaces_by_type() {
        let mut a = Extensions::new();
        a.insert(A(1));
        let mut b = Extensions::new();
        b.insert(A(2));
        b.insert(B(3));
        a.extend(b);
        assert_eq!(a.get::<A>(), Some(&A(2)));
        assert_eq!(a.get::<B>(), Some(&B(3)));
    }
}
