"""Dabiri & Heaslip (2018): transportation mode from GPS segments with a CNN."""
