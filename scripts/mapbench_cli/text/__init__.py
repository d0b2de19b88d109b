"""Words, numbers and tables as text (terminal, Markdown, LaTeX)."""
