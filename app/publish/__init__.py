"""The public site (一公开): collect from the database, render (pure), write atomically."""
