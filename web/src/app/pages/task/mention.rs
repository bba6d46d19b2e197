//! `@` completion in a Markdown editor: typing `@` and the start of a
//! member's name or email shows the matching members in a listbox under the
//! editor; Arrow keys move, Enter or Tab inserts the mention, Escape closes.
//! The editor keeps focus (`aria-activedescendant` names the active option).

use leptos::{html::Textarea, prelude::*};

use super::TaskContext;
use crate::model::{
    mentions::{self, Candidate},
    relations::step,
};

/// What the completion of one editor knows.
#[derive(Clone, Copy)]
pub struct MentionAssist {
    listbox: &'static str,
    editor: NodeRef<Textarea>,
    /// The `@`'s byte offset and the caret's, while a mention is typed.
    typing: RwSignal<Option<(usize, usize)>>,
    /// `(label, text to insert after the @)`.
    options: RwSignal<Vec<(String, String)>>,
    active: RwSignal<Option<usize>>,
    /// Sets the editor's text (its draft signal).
    apply: Callback<String>,
}

impl MentionAssist {
    pub fn new(listbox: &'static str, editor: NodeRef<Textarea>, apply: Callback<String>) -> Self {
        Self {
            listbox,
            editor,
            typing: RwSignal::new(None),
            options: RwSignal::new(Vec::new()),
            active: RwSignal::new(None),
            apply,
        }
    }

    pub fn listbox(&self) -> &'static str {
        self.listbox
    }

    /// The active option's id, for the editor's `aria-activedescendant`.
    pub fn active_id(&self) -> Option<String> {
        let listbox = self.listbox;
        self.active.get().filter(|_| self.open()).map(|index| format!("{listbox}-{index}"))
    }

    fn open(&self) -> bool {
        self.options.with(|options| !options.is_empty())
    }

    fn close(&self) {
        self.typing.set(None);
        self.options.set(Vec::new());
        self.active.set(None);
    }

    /// After each input: is a mention being typed at the caret?
    pub fn on_input(&self) {
        let Some(editor) = self.editor.get_untracked() else { return };
        let text = editor.value();
        let caret = editor.selection_start().ok().flatten().unwrap_or(0) as usize;
        let caret = mentions::byte_offset(&text, caret);
        let Some((at, query)) = mentions::typing_at(&text, caret) else {
            self.close();
            return;
        };
        let context = expect_context::<TaskContext>();
        let members: Vec<Candidate> = context
            .members
            .get_untracked()
            .unwrap_or_default()
            .into_iter()
            .map(|member| Candidate { display_name: member.display_name, email: member.email })
            .collect();
        let options = mentions::suggestions(query, &members);
        self.active.set((!options.is_empty()).then_some(0));
        self.options.set(options);
        self.typing.set(Some((at, caret)));
    }

    /// Keys while the list is open; returns whether it handled the key.
    pub fn on_keydown(&self, event: &leptos::ev::KeyboardEvent) -> bool {
        if !self.open() {
            return false;
        }
        match event.key().as_str() {
            "ArrowDown" | "ArrowUp" => {
                let count = self.options.with(Vec::len);
                self.active.update(|active| *active = step(*active, count, event.key() == "ArrowDown"));
            }
            "Enter" | "Tab" => match self.active.get_untracked() {
                Some(index) => self.pick(index),
                None => return false,
            },
            "Escape" => self.close(),
            _ => return false,
        }
        event.prevent_default();
        true
    }

    /// Inserts option `index` and puts the caret after it.
    fn pick(&self, index: usize) {
        let (Some(editor), Some((at, caret))) = (self.editor.get_untracked(), self.typing.get_untracked()) else {
            return;
        };
        let Some((_, mention)) = self.options.with_untracked(|options| options.get(index).cloned()) else { return };
        let (text, caret) = mentions::complete(&editor.value(), at, caret, &mention);
        editor.set_value(&text);
        let caret = mentions::utf16_offset(&text, caret) as u32;
        let _ = editor.set_selection_range(caret, caret);
        self.apply.run(text);
        self.close();
        let _ = editor.focus();
    }
}

/// The listbox under the editor.
#[component]
pub fn MentionOptions(assist: MentionAssist) -> impl IntoView {
    let listbox = assist.listbox();
    view! {
        <ul class="picker mentions" id=listbox role="listbox" aria-label="Members to mention"
            hidden=move || !assist.open()>
            {move || assist.options.get().into_iter().enumerate().map(|(index, (label, _))| {
                let selected = move || (assist.active.get() == Some(index)).to_string();
                view! {
                    <li id=format!("{listbox}-{index}") role="option" aria-selected=selected
                        on:mousedown=move |event: leptos::ev::MouseEvent| {
                            // Keeps focus in the editor.
                            event.prevent_default();
                            assist.pick(index);
                        }>
                        {label}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
