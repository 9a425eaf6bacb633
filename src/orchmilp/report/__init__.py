"""Human-facing output: console tables, Markdown and HTML reports, charts."""
