"""The membership card in Apple Wallet (a signed .pkpass) and Google Wallet (a signed save
link), built from the customer's balances and member QR (docs/decisions/0051-wallet-passes.md)."""
