"""Market agents: arbitrage between venues and the mint/redeem channels that hold pegs."""
