//! [`Extensions`]: a typed map for values attached to a request or response.

use std::any::{Any, TypeId};
use std::fmt;

type Value = Box<dyn Any + Send + Sync>;

/// A map from type to value, one value per type.
///
/// The transport puts the peer's address and credentials here; an accept hook
/// or a tower layer can add its own types (an authenticated identity, say).
/// Empty extensions allocate nothing, and the first value costs one small
/// allocation: every server request carries one (the connection's peer), so
/// the common case stays cheap.
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
    // A handful of entries at most in practice: a vector beats a hash map.
    entries: Vec<(TypeId, Value)>,
}

impl Extensions {
    /// Empty extensions.
    pub const fn new() -> Extensions {
        Extensions {
            entries: Vec::new(),
        }
    }

    fn position<T: 'static>(&self) -> Option<usize> {
        let id = TypeId::of::<T>();
        self.entries.iter().position(|(t, _)| *t == id)
    }

    /// Stores `value`, returning the previous value of its type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        match self.position::<T>() {
            Some(i) => {
                let old = std::mem::replace(&mut self.entries[i].1, Box::new(value));
                old.downcast().ok().map(|b| *b)
            }
            None => {
                if self.entries.capacity() == 0 {
                    self.entries.reserve_exact(1);
                }
                self.entries.push((TypeId::of::<T>(), Box::new(value)));
                None
            }
        }
    }

    /// The value of type `T`.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        let i = self.position::<T>()?;
        self.entries[i].1.downcast_ref()
    }

    /// The value of type `T`, mutably.
    pub fn get_mut<T: Send + Sync + 'static>(&mut self) -> Option<&mut T> {
        let i = self.position::<T>()?;
        self.entries[i].1.downcast_mut()
    }

    /// Removes and returns the value of type `T`.
    pub fn remove<T: Send + Sync + 'static>(&mut self) -> Option<T> {
        let i = self.position::<T>()?;
        let (_, value) = self.entries.swap_remove(i);
        value.downcast().ok().map(|b| *b)
    }

    /// Whether no value is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Moves every value of `other` into `self`, replacing values of the same type.
    pub fn extend(&mut self, other: Extensions) {
        for (id, value) in other.entries {
            match self.entries.iter_mut().find(|(t, _)| *t == id) {
                Some(slot) => slot.1 = value,
                None => self.entries.push((id, value)),
            }
        }
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &self.entries.len())
            .finish()
    }
}
