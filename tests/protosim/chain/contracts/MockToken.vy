# pragma version ~=0.4.3
"""
@title Balance-only ERC-20 for protosim's chain-reader tests
@notice Stands in for an Aave reserve's underlying, aToken and variable debt token:
        readers only call balanceOf, symbol and decimals. The test sets balances.
"""

name: public(String[32])
symbol: public(String[32])
decimals: public(uint8)
balanceOf: public(HashMap[address, uint256])
totalSupply: public(uint256)


@deploy
def __init__(_name: String[32], _symbol: String[32], _decimals: uint8):
    self.name = _name
    self.symbol = _symbol
    self.decimals = _decimals


@external
def setBalance(holder: address, amount: uint256):
    self.totalSupply = self.totalSupply - self.balanceOf[holder] + amount
    self.balanceOf[holder] = amount
