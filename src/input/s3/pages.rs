//! ListObjectsV2 answers: what a page holds, read straight from its XML.
//!
//! The SDK decodes a page into its generic model (every field of every object, names
//! matched one by one); for a listing of a million keys that is most of the listing's
//! CPU. A page is therefore read here by a single pass of `xmlparser` (the tokenizer the
//! SDK itself uses) that keeps only what a listing needs: keys, sizes, ETags, common
//! prefixes, whether more is to come and the continuation token. The SDK still signs,
//! sends, retries and classifies: [`FastPages`] only swaps its response decoder for one
//! call, and anything but a well-formed `ListBucketResult` answered with a success status
//! (errors, throttling, XML this reader does not follow) goes to the SDK's decoder as
//! before.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::interceptors::BeforeSerializationInterceptorContextMut;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::operation::list_objects_v2::{ListObjectsV2, ListObjectsV2Output};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{Output, OutputOrError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin;
use aws_smithy_runtime_api::client::ser_de::{DeserializeResponse, SharedResponseDeserializer};
use aws_smithy_types::config_bag::FrozenLayer;
use xmlparser::{ElementEnd, Token, Tokenizer};

/// A listed object worth reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Listed {
    pub key: String,
    pub size: u64,
    pub etag: String,
}

/// One ListObjectsV2 answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Page {
    /// Objects, in key order, without folder markers (keys ending in `/`).
    pub objects: Vec<Listed>,
    /// Common prefixes (with the delimiter), in key order.
    pub folders: Vec<String>,
    pub truncated: bool,
    pub next_token: Option<String>,
}

/// Where a page read by [`FastPages`] is left for the caller of one ListObjectsV2 call.
pub(super) type Slot = Arc<Mutex<Option<Page>>>;

/// For one ListObjectsV2 call: reads a successful answer with [`page`] into its slot, and
/// hands the SDK an empty output in its place.
#[derive(Debug)]
pub(super) struct FastPages(pub Slot);

impl Intercept for FastPages {
    fn name(&self) -> &'static str {
        "vpce-audit listing pages"
    }

    fn modify_before_serialization(
        &self,
        _context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The SDK's decoder for ListObjectsV2, where the operation keeps it.
        let sdk = ListObjectsV2::new()
            .config()
            .filter(|layer| layer.load::<SharedResponseDeserializer>().is_some())
            .ok_or("the SDK has no ListObjectsV2 response decoder")?;
        cfg.interceptor_state()
            .store_put(SharedResponseDeserializer::new(Decoder {
                sdk,
                slot: Arc::clone(&self.0),
            }));
        Ok(())
    }
}

/// The response decoder [`FastPages`] puts in place of the SDK's.
#[derive(Debug)]
struct Decoder {
    /// The operation's settings, which hold the SDK's decoder.
    sdk: FrozenLayer,
    slot: Slot,
}

impl Decoder {
    fn sdk(&self) -> &SharedResponseDeserializer {
        self.sdk
            .load::<SharedResponseDeserializer>()
            .expect("checked when the decoder was made")
    }
}

impl DeserializeResponse for Decoder {
    fn deserialize_streaming_with_config(
        &self,
        response: &mut HttpResponse,
        cfg: &ConfigBag,
    ) -> Option<OutputOrError> {
        self.sdk().deserialize_streaming_with_config(response, cfg)
    }

    fn deserialize_nonstreaming_with_config(
        &self,
        response: &HttpResponse,
        cfg: &ConfigBag,
    ) -> OutputOrError {
        let read = response
            .status()
            .is_success()
            .then(|| response.body().bytes().and_then(page))
            .flatten();
        match read {
            Some(read) => {
                *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(read);
                Ok(Output::erase(ListObjectsV2Output::builder().build()))
            }
            None => self
                .sdk()
                .deserialize_nonstreaming_with_config(response, cfg),
        }
    }
}

/// What an element's text is, by where it stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Other,
    Key,
    Size,
    ETag,
    Folder,
    Truncated,
    Token,
}

/// The listing's part of a ListObjectsV2 answer (`<ListBucketResult>`), or `None` when
/// the body is not one this reader follows. Folder markers (keys ending in `/`) are left
/// out, as from the SDK's answer.
pub(super) fn page(body: &[u8]) -> Option<Page> {
    let text = std::str::from_utf8(body).ok()?;
    let mut page = Page::default();
    // The open elements' local names: a page is three deep.
    let mut open: Vec<&str> = Vec::with_capacity(4);
    let mut field = Field::Other;
    let (mut key, mut size, mut etag) = (String::new(), String::new(), String::new());
    let mut folder = String::new();
    let (mut truncated, mut next_token) = (String::new(), None::<String>);
    let mut root = false;
    for token in Tokenizer::from(text) {
        match token.ok()? {
            Token::ElementStart { local, .. } => {
                open.push(local.as_str());
                field = match open.as_slice() {
                    ["ListBucketResult"] => {
                        root = true;
                        Field::Other
                    }
                    [_, "Contents", "Key"] => Field::Key,
                    [_, "Contents", "Size"] => Field::Size,
                    [_, "Contents", "ETag"] => Field::ETag,
                    [_, "CommonPrefixes", "Prefix"] => Field::Folder,
                    [_, "IsTruncated"] => Field::Truncated,
                    [_, "NextContinuationToken"] => Field::Token,
                    _ => Field::Other,
                };
                if !root {
                    return None;
                }
            }
            token @ (Token::Text { .. } | Token::Cdata { .. }) => {
                let unescaped = match token {
                    Token::Cdata { text, .. } => Cow::Borrowed(text.as_str()),
                    Token::Text { text } => unescape(text.as_str())?,
                    _ => continue,
                };
                match field {
                    Field::Other => {}
                    Field::Key => key.push_str(&unescaped),
                    Field::Size => size.push_str(&unescaped),
                    Field::ETag => etag.push_str(&unescaped),
                    Field::Folder => folder.push_str(&unescaped),
                    Field::Truncated => truncated.push_str(&unescaped),
                    Field::Token => next_token
                        .get_or_insert_with(String::new)
                        .push_str(&unescaped),
                }
            }
            Token::ElementEnd { end, .. } => {
                if matches!(end, ElementEnd::Open) {
                    continue;
                }
                field = Field::Other;
                match (open.pop(), open.len()) {
                    (Some("Contents"), 1) => {
                        let key = std::mem::take(&mut key);
                        let size = std::mem::take(&mut size);
                        let etag = std::mem::take(&mut etag);
                        if !key.is_empty() && !key.ends_with('/') {
                            page.objects.push(Listed {
                                key,
                                size: if size.is_empty() {
                                    0
                                } else {
                                    size.trim().parse().ok()?
                                },
                                etag,
                            });
                        }
                    }
                    (Some("CommonPrefixes"), 1) => {
                        let folder = std::mem::take(&mut folder);
                        if !folder.is_empty() {
                            page.folders.push(folder);
                        }
                    }
                    (None, _) => return None,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if !root || !open.is_empty() {
        return None;
    }
    page.truncated = match truncated.trim() {
        "true" => true,
        "false" | "" => false,
        _ => return None,
    };
    page.next_token = next_token;
    Some(page)
}

/// XML text with its five entities and character references replaced; `None` for one
/// that is not well-formed.
fn unescape(raw: &str) -> Option<Cow<'_, str>> {
    if !raw.contains('&') {
        return Some(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';')? + at;
        let entity = &rest[at + 1..end];
        let c = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let number = entity.strip_prefix('#')?;
                let code = match number.strip_prefix('x') {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => number.parse().ok()?,
                };
                char::from_u32(code)?
            }
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::body::SdkBody;

    /// The page as the SDK's own decoder reads it.
    fn sdk_page(body: &str) -> Page {
        let layer = ListObjectsV2::new().config().unwrap();
        let sdk = layer.load::<SharedResponseDeserializer>().unwrap();
        let response = HttpResponse::new(200.try_into().unwrap(), SdkBody::from(body));
        let output = sdk
            .deserialize_nonstreaming_with_config(&response, &ConfigBag::base())
            .unwrap();
        let out = output.downcast::<ListObjectsV2Output>().unwrap();
        Page {
            objects: out
                .contents
                .unwrap_or_default()
                .into_iter()
                .filter_map(|o| {
                    let key = o.key.filter(|k| !k.ends_with('/'))?;
                    Some(Listed {
                        key,
                        size: o.size.unwrap_or(0).max(0) as u64,
                        etag: o.e_tag.unwrap_or_default(),
                    })
                })
                .collect(),
            folders: out
                .common_prefixes
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| p.prefix)
                .collect(),
            truncated: out.is_truncated == Some(true),
            next_token: out.next_continuation_token,
        }
    }

    const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#;

    #[test]
    fn pages_read_as_the_sdk_reads_them() {
        let bodies = [
            // S3's own shape: compact, a token, a folder marker, odd characters.
            format!(
                "{HEAD}<Name>logs</Name><Prefix>logs/</Prefix><KeyCount>4</KeyCount>\
                 <MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>\
                 <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>\
                 <Contents><Key>logs/2022-05-09-10-31-44-7C1A9E3F5B2D4086</Key>\
                 <LastModified>2022-05-09T10:31:45.000Z</LastModified>\
                 <ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag>\
                 <ChecksumAlgorithm>CRC32</ChecksumAlgorithm><Size>11264</Size>\
                 <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>\
                 <DisplayName>x</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>\
                 <Contents><Key>logs/folder/</Key><Size>0</Size><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag></Contents>\
                 <Contents><Key>logs/a &amp; b &lt;c&gt; &#38; &#x10FFFF; 한글 &apos;x&apos;</Key><Size>1</Size></Contents>\
                 <Contents><Key>logs/z</Key><ETag></ETag><Size>9007199254740993</Size></Contents>\
                 </ListBucketResult>"
            ),
            // Pretty-printed, with common prefixes and no token, as other stores write it.
            format!(
                "{HEAD}\n  <Name>logs</Name>\n  <IsTruncated>false</IsTruncated>\n  <Contents>\n    \
                 <Key>logs/ spaced </Key>\n    <Size>3</Size>\n  </Contents>\n  \
                 <CommonPrefixes>\n    <Prefix>logs/123456789012/</Prefix>\n  </CommonPrefixes>\n  \
                 <CommonPrefixes><Prefix>logs/archive/</Prefix></CommonPrefixes>\n</ListBucketResult>\n"
            ),
            // Nothing listed.
            format!("{HEAD}<Name>logs</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>"),
        ];
        for body in &bodies {
            let ours = page(body.as_bytes()).expect(body);
            assert_eq!(ours, sdk_page(body), "{body}");
        }
        let first = page(bodies[0].as_bytes()).unwrap();
        assert_eq!(first.objects.len(), 3, "the folder marker is left out");
        assert_eq!(first.objects[1].key, "logs/a & b <c> & \u{10FFFF} 한글 'x'");
        assert!(first.truncated);
        assert_eq!(page(bodies[1].as_bytes()).unwrap().folders.len(), 2);
    }

    #[test]
    fn anything_else_is_left_to_the_sdk() {
        for body in [
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
            "",
            "not xml",
            &format!("{HEAD}<Contents><Key>x</Key>"),
            &format!("{HEAD}<Contents><Key>x &bogus; y</Key></Contents></ListBucketResult>"),
            &format!("{HEAD}<Contents><Key>x</Key><Size>-1</Size></Contents></ListBucketResult>"),
            &format!("{HEAD}<IsTruncated>maybe</IsTruncated></ListBucketResult>"),
        ] {
            assert_eq!(page(body.as_bytes()), None, "{body}");
        }
        assert_eq!(page(b"\xff\xfe"), None);
    }
}
