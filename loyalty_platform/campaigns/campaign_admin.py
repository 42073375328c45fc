"""Portal pages (registered on the merchant site)."""
