//! [`ByteStr`]: a UTF-8 string that shares a [`Bytes`] buffer.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// An immutable UTF-8 string backed by [`Bytes`]: cloning it, or taking it
/// out of a received frame, copies nothing and allocates nothing.
///
/// Service and method names and metadata decoded from a frame point into the
/// frame's buffer; names given as `&'static str` point at the static string.
///
/// ```
/// use wren_codec::ByteStr;
///
/// let name = ByteStr::from_static("containerd.task.v2.Task");
/// assert_eq!(&*name, "containerd.task.v2.Task");
/// assert_eq!(ByteStr::from(String::from("Create")), "Create");
/// assert!(ByteStr::from_utf8(bytes::Bytes::from_static(b"\xff")).is_err());
/// let utf8 = ByteStr::from_utf8(bytes::Bytes::from_static("größe".as_bytes()));
/// assert_eq!(utf8.unwrap(), "größe");
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteStr(Bytes);

impl ByteStr {
    /// An empty string.
    pub const fn new() -> ByteStr {
        ByteStr(Bytes::new())
    }

    /// A string pointing at `s`, copying nothing.
    pub const fn from_static(s: &'static str) -> ByteStr {
        ByteStr(Bytes::from_static(s.as_bytes()))
    }

    /// `bytes` as a string, if they are UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<ByteStr, std::str::Utf8Error> {
        // Service and method names are ASCII: checking that is a few word
        // comparisons, where the full UTF-8 check of a short name costs
        // about 70 instructions.
        if !bytes.is_ascii() {
            std::str::from_utf8(&bytes)?;
        }
        Ok(ByteStr(bytes))
    }

    /// The string.
    #[allow(unsafe_code)]
    pub fn as_str(&self) -> &str {
        // Checking the bytes again on every use cost about 1,000
        // instructions per unary call (4-7% of all, client and server, under
        // callgrind), because names are looked at several times per call.
        // SAFETY: a `ByteStr` is only ever built from a `str` (`from_static`,
        // `From<String>` and friends) or from bytes `from_utf8` checked, and
        // `Bytes` never changes the bytes it refers to.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The bytes underneath.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The bytes underneath, consuming the string.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for ByteStr {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ByteStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for ByteStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&'static str> for ByteStr {
    fn from(s: &'static str) -> ByteStr {
        ByteStr::from_static(s)
    }
}

impl From<String> for ByteStr {
    fn from(s: String) -> ByteStr {
        ByteStr(Bytes::from(s))
    }
}

impl From<Cow<'static, str>> for ByteStr {
    fn from(s: Cow<'static, str>) -> ByteStr {
        match s {
            Cow::Borrowed(s) => ByteStr::from_static(s),
            Cow::Owned(s) => ByteStr::from(s),
        }
    }
}

impl From<&String> for ByteStr {
    fn from(s: &String) -> ByteStr {
        ByteStr::from(s.clone())
    }
}

impl From<ByteStr> for String {
    fn from(s: ByteStr) -> String {
        s.as_str().to_owned()
    }
}

impl PartialEq<str> for ByteStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ByteStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for ByteStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

/// A string a [`ByteStr`] can be made of, as the [`Metadata`](crate::Metadata)
/// setters take it: a `&str` (of any lifetime) is copied; a `String`, a
/// `Box<str>`, a `Cow` or a `ByteStr` is moved.
pub trait IntoByteStr {
    /// The string as a [`ByteStr`].
    fn into_byte_str(self) -> ByteStr;
}

impl IntoByteStr for &str {
    fn into_byte_str(self) -> ByteStr {
        ByteStr(Bytes::copy_from_slice(self.as_bytes()))
    }
}

impl IntoByteStr for &String {
    fn into_byte_str(self) -> ByteStr {
        self.as_str().into_byte_str()
    }
}

impl IntoByteStr for String {
    fn into_byte_str(self) -> ByteStr {
        ByteStr::from(self)
    }
}

impl IntoByteStr for Box<str> {
    fn into_byte_str(self) -> ByteStr {
        ByteStr::from(String::from(self))
    }
}

impl IntoByteStr for Cow<'_, str> {
    fn into_byte_str(self) -> ByteStr {
        match self {
            Cow::Borrowed(s) => s.into_byte_str(),
            Cow::Owned(s) => ByteStr::from(s),
        }
    }
}

impl IntoByteStr for ByteStr {
    fn into_byte_str(self) -> ByteStr {
        self
    }
}

impl IntoByteStr for &ByteStr {
    fn into_byte_str(self) -> ByteStr {
        self.clone()
    }
}
