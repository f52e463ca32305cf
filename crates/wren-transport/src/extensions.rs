//! [`Extensions`]: a typed map for values attached to a request or response.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;

/// A map from type to value, one value per type.
///
/// The transport puts the peer's address and credentials here; an accept hook
/// or a tower layer can add its own types (an authenticated identity, say).
/// Empty extensions allocate nothing.
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
    // Boxed so that empty extensions, the common case, are one word wide.
    #[allow(clippy::box_collection)]
    map: Option<Box<HashMap<TypeId, Box<dyn Any + Send + Sync>>>>,
}

impl Extensions {
    /// Empty extensions.
    pub const fn new() -> Extensions {
        Extensions { map: None }
    }

    /// Stores `value`, returning the previous value of its type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        self.map
            .get_or_insert_with(Default::default)
            .insert(TypeId::of::<T>(), Box::new(value))
            .and_then(|old| old.downcast().ok().map(|b| *b))
    }

    /// The value of type `T`.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.map
            .as_ref()?
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref())
    }

    /// The value of type `T`, mutably.
    pub fn get_mut<T: Send + Sync + 'static>(&mut self) -> Option<&mut T> {
        self.map
            .as_mut()?
            .get_mut(&TypeId::of::<T>())
            .and_then(|v| v.downcast_mut())
    }

    /// Removes and returns the value of type `T`.
    pub fn remove<T: Send + Sync + 'static>(&mut self) -> Option<T> {
        self.map
            .as_mut()?
            .remove(&TypeId::of::<T>())
            .and_then(|old| old.downcast().ok().map(|b| *b))
    }

    /// Whether no value is stored.
    pub fn is_empty(&self) -> bool {
        self.map.as_ref().is_none_or(|m| m.is_empty())
    }

    /// Moves every value of `other` into `self`, replacing values of the same type.
    pub fn extend(&mut self, other: Extensions) {
        if let Some(other) = other.map {
            self.map.get_or_insert_with(Default::default).extend(*other);
        }
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &self.map.as_ref().map_or(0, |m| m.len()))
            .finish()
    }
}
