"""The command line's own duties: the Windows console's QuickEdit mode."""
from __future__ import annotations

import sys

import pytest

from supportbot.__main__ import ENABLE_EXTENDED_FLAGS, ENABLE_QUICK_EDIT_MODE, quickedit_off


class FakeKernel32:
    """Just enough of kernel32's console functions; `console=False` is input that is no console."""

    class Mode:
        value = 0

    def __init__(self, mode: int, console: bool = True):
        self.mode, self.console = mode, console
        self.set_to: int | None = None

    def GetStdHandle(self, which):  # noqa: N802 - the Windows API's names
        assert which == 0xFFFFFFF6  # STD_INPUT_HANDLE as a DWORD
        return 7

    def GetConsoleMode(self, handle, mode):  # noqa: N802
        mode.value = self.mode
        return 1 if self.console else 0

    def SetConsoleMode(self, handle, mode):  # noqa: N802
        self.set_to = mode
        return 1


def test_quickedit_is_switched_off_and_other_console_flags_are_kept():
    kernel32 = FakeKernel32(0x01F7)  # a classic console's default, QuickEdit on
    assert quickedit_off(kernel32)
    assert kernel32.set_to == (0x01F7 & ~ENABLE_QUICK_EDIT_MODE) | ENABLE_EXTENDED_FLAGS


def test_no_console_or_no_quickedit_changes_nothing():
    for kernel32 in (FakeKernel32(0x01F7, console=False), FakeKernel32(0x01B7)):
        assert not quickedit_off(kernel32)
        assert kernel32.set_to is None


@pytest.mark.skipif(sys.platform == "win32", reason="on Windows it really changes the console; runs on Linux and in CI with a fake kernel32")
def test_elsewhere_than_windows_it_is_a_no_op():
    assert quickedit_off() is False  # the tests run on Linux: no ctypes.WinDLL, and no crash
