"""Checkers for the notebooks' exercises: the student writes a function, a checker runs it on
known answers and says what is wrong.

Every checker takes the student's function, prints one line when it is right, and otherwise
raises AssertionError with a sentence naming the mistake (a sign error, a whole-batch norm where
a per-sample one belongs, ...). The library's own functions are the worked answers, so every
checker accepts them (tests/test_exercises.py checks that, and that each typical mistake is
caught).
"""

from __future__ import annotations


def passed(name: str) -> None:
    """The one line a student sees when an exercise is right."""
    print(f"✓ {name}: correct")


# ----------------------------------------------------------------------------------------------
# 01_mode_collapse
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# 02_bce_gan
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# 03_dcgan
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# 04_wgan_clipping
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# 05_wgan_gp
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# 06_conditional_wgan
# ----------------------------------------------------------------------------------------------
