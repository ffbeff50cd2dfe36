//! Exports `run: func() -> u32` instead of funnel's `handle`.
wit_bindgen::generate!({
    inline: "
        package test:wrong;
        world other {
            export run: func() -> u32;
        }
    ",
});

struct Other;

impl Guest for Other {
    fn run() -> u32 {
        42
    }
}

export!(Other);
