//! S3's XML: answers written element by element in S3's namespace, and the
//! few request bodies (DeleteObjects, CompleteMultipartUpload, a bucket's
//! notifications) read into a tree.

use super::super::errors::{AwsError, xml_escape};
use super::errors::error;

pub const NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// An answer being written.
pub struct Xml {
    out: String,
}

impl Xml {
    /// A document whose root is `root`, in S3's namespace.
    pub fn new(root: &str) -> Xml {
        Xml {
            out: format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"{NAMESPACE}\">"
            ),
        }
    }

    pub fn open(&mut self, name: &str) -> &mut Xml {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Xml {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// `<name>text</name>`.
    pub fn text(&mut self, name: &str, text: impl AsRef<str>) -> &mut Xml {
        self.open(name);
        self.out.push_str(&xml_escape(text.as_ref()));
        self.close(name)
    }

    /// `<name>text</name>` when there is a text.
    pub fn some(&mut self, name: &str, text: Option<impl AsRef<str>>) -> &mut Xml {
        if let Some(text) = text {
            self.text(name, text);
        }
        self
    }

    /// `<name>text</name>` unless the text is empty.
    pub fn nonempty(&mut self, name: &str, text: &str) -> &mut Xml {
        if !text.is_empty() {
            self.text(name, text);
        }
        self
    }

    /// Closes the root.
    pub fn finish(mut self, root: &str) -> String {
        self.close(root);
        self.out
    }
}

/// A request body's tree; `MalformedXML` when it is not XML or its root is
/// not `root`.
pub fn parse<'a>(body: &'a str, root: &str) -> Result<roxmltree::Document<'a>, AwsError> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    let document = roxmltree::Document::parse_with_options(body, options).map_err(|e| {
        error(
            "MalformedXML",
            format!("The XML you provided was not well-formed or did not validate against our published schema: {e}"),
        )
    })?;
    if document.root_element().tag_name().name() != root {
        return Err(error(
            "MalformedXML",
            format!(
                "The XML you provided was not well-formed or did not validate against our \
                 published schema: the root element is <{}>, not <{root}>",
                document.root_element().tag_name().name()
            ),
        ));
    }
    Ok(document)
}

/// The element children of `node` named `name` (namespace ignored).
pub fn children<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
    name: &'a str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// The text of `node`'s first child named `name`.
pub fn child_text<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
        .map(|c| c.text().unwrap_or_default())
}

/// Utf-8 text of a request body.
pub fn utf8(body: &[u8]) -> Result<&str, AwsError> {
    std::str::from_utf8(body)
        .map_err(|_| error("MalformedXML", "The XML you provided was not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_escaped_elements_in_the_namespace() {
        let mut xml = Xml::new("Root");
        xml.open("A")
            .text("Key", "a<b&c")
            .close("A")
            .some("N", None::<&str>);
        let out = xml.finish("Root");
        assert!(out.ends_with(&format!(
            "<Root xmlns=\"{NAMESPACE}\"><A><Key>a&lt;b&amp;c</Key></A></Root>"
        )));
    }

    #[test]
    fn reads_children_and_refuses_other_roots_and_dtds() {
        let doc = parse(
            "<Delete xmlns=\"x\"><Object><Key>a</Key></Object><Object><Key>b</Key></Object></Delete>",
            "Delete",
        )
        .unwrap();
        let keys: Vec<_> = children(doc.root_element(), "Object")
            .filter_map(|o| child_text(o, "Key"))
            .collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(
            parse("<Other/>", "Delete").unwrap_err().code,
            "MalformedXML"
        );
        let bomb = "<!DOCTYPE d [<!ENTITY a \"aaaa\">]><Delete>&a;</Delete>";
        assert_eq!(parse(bomb, "Delete").unwrap_err().code, "MalformedXML");
    }
}
