"""Checkers for the notebooks' exercises: the student writes a function, a checker runs it on
known answers and says what is wrong. One module per notebook (ex01_mode_collapse ...
ex06_conditional_wgan); what they share is in _check.

A notebook's check cell is one line:

    exercises.check("5.1", my_r1_penalty, worked=solutions)

- right: it prints "✓ R1 penalty: correct", or, when `worked=True` (the notebook's `solutions`
  parameter: the hidden cell above put in the worked solution), "worked solution: ✓ R1
  penalty", so nobody is congratulated for code they did not write;
- not written yet (the stub raises NotImplementedError): it prints one line, "Exercise 5.1 not
  attempted yet: write `my_r1_penalty` above, then run this cell", and returns False, so a
  notebook run top to bottom goes on (no later lesson cell uses the student's answer);
- wrong: it raises AssertionError with a sentence naming the mistake (a sign error, a
  whole-batch norm where a per-sample one belongs, ...).

`check` returns True only for a right answer, so a cell can go on with the student's function
(`if exercises.check(...): ...`). Each checker can also be called by name
(`exercises.check_r1_penalty(fn)`); it then lets NotImplementedError through. The library's
own functions are the worked answers wherever it has one, so the checkers accept them
(tests/test_exercises.py checks that, and that each typical mistake is caught).
"""

from ._check import CHECKERS, check, passed
from .ex01_mode_collapse import check_modes_captured, check_reverse_kl
from .ex02_bce_gan import (
                           check_d_loss_bce,
                           check_d_update,
                           check_g_loss_minimax,
                           check_g_loss_nonsaturating,
                           check_g_update,
)
from .ex03_dcgan import check_conv_transpose_size, check_slerp
from .ex04_wgan_clipping import check_critic_step, check_slope_bound
from .ex05_wgan_gp import check_penalised_critic, check_r1_penalty
from .ex06_conditional_wgan import check_label_channels, check_per_class_accuracy

__all__ = ["CHECKERS", "check", "passed", "check_modes_captured", "check_reverse_kl",
           "check_d_update", "check_g_update", "check_d_loss_bce", "check_g_loss_nonsaturating",
           "check_g_loss_minimax", "check_conv_transpose_size", "check_slerp",
           "check_critic_step", "check_slope_bound", "check_r1_penalty",
           "check_penalised_critic", "check_label_channels", "check_per_class_accuracy"]
