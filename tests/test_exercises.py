"""Each checker accepts the library's answer and rejects each typical wrong answer."""

from ganlib import exercises


def test_passed_prints_one_line(capsys):
    exercises.passed("demo")
    assert capsys.readouterr().out == "✓ demo: correct\n"


# --- 01_mode_collapse --------------------------------------------------------------------------


# --- 02_bce_gan --------------------------------------------------------------------------------


# --- 03_dcgan ----------------------------------------------------------------------------------


# --- 04_wgan_clipping --------------------------------------------------------------------------


# --- 05_wgan_gp --------------------------------------------------------------------------------


# --- 06_conditional_wgan -----------------------------------------------------------------------
