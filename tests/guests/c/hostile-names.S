/*
 * hostile-names.S: an x86_64 guest (no libc) whose functions have names that a picture must
 * show as they are: quotes, a backslash, "<", ">" and "&" (tests/integration/test_tool_dot.py).
 * Counts by construction: the loop runs 3 times, calling the C++-named function each time
 * (3 calls, 3 returns to the instruction after the call), and jumps back twice. Before it, one
 * call to a function whose name is too long for an edge's label.
 */
    .text
    .globl _start
_start:
    call "std::map<std::basic_string<char, std::char_traits<char>, std::allocator<char> >, int>::operator[](std::string const&)"
    mov $3, %ecx
1:
"loop \"q\" <T> & a\\b":
    call "std::vector<int>::push_back(int const&)"
    dec %ecx
    jnz 1b
    mov $60, %eax
    xor %edi, %edi
    syscall

"std::vector<int>::push_back(int const&)":
    ret

"std::map<std::basic_string<char, std::char_traits<char>, std::allocator<char> >, int>::operator[](std::string const&)":
    ret
