"""Physics formulas written with the symbols of the textbook (Greek identifiers are ordinary Python)."""

import math

π = math.pi
ε0 = 8.8541878128e-12  # vacuum permittivity, F/m


def coulomb(q1, q2, r):
    return q1 * q2 / (4 * π * ε0 * r**2)


def période(longueur, g=9.81):
    """Period of a pendulum (the French course this module accompanies names it so)."""
    return 2 * π * math.sqrt(longueur / g)


def 面积(半径):
    return π * 半径**2
