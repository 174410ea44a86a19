//! A tiny XML writer for EC2 Query replies: escaping plus open/close/leaf helpers.

/// Escapes text for element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// Builds a document element by element; callers keep opens and closes balanced.
#[derive(Debug, Default)]
pub(crate) struct XmlWriter {
    buf: String,
}

impl XmlWriter {
    pub(crate) fn new() -> Self {
        XmlWriter {
            buf: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        }
    }

    pub(crate) fn open(&mut self, tag: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(tag);
        self.buf.push('>');
        self
    }

    /// Opens the root element with the namespace EC2 puts on every reply.
    pub(crate) fn open_ns(&mut self, tag: &str, xmlns: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(tag);
        self.buf.push_str(" xmlns=\"");
        self.buf.push_str(&escape(xmlns));
        self.buf.push_str("\">");
        self
    }

    pub(crate) fn close(&mut self, tag: &str) -> &mut Self {
        self.buf.push_str("</");
        self.buf.push_str(tag);
        self.buf.push('>');
        self
    }

    pub(crate) fn leaf(&mut self, tag: &str, text: &str) -> &mut Self {
        self.open(tag);
        self.buf.push_str(&escape(text));
        self.close(tag)
    }

    /// EC2 leaves absent fields out entirely rather than sending them empty.
    pub(crate) fn opt_leaf(&mut self, tag: &str, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.leaf(tag, text);
        }
        self
    }

    /// An empty list is sent as an empty wrapper element, as EC2 does.
    pub(crate) fn empty(&mut self, tag: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(tag);
        self.buf.push_str("/>");
        self
    }

    pub(crate) fn finish(self) -> String {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
    }

    #[test]
    fn writes_nested_elements() {
        let mut w = XmlWriter::new();
        w.open_ns("R", "urn:x")
            .leaf("a", "1 & 2")
            .opt_leaf("b", None)
            .empty("c")
            .close("R");
        let doc = w.finish();
        assert!(
            doc.ends_with("<R xmlns=\"urn:x\"><a>1 &amp; 2</a><c/></R>"),
            "{doc}"
        );
    }
}
