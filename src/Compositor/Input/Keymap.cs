using System.Runtime.InteropServices;
using LinuxKernel;

namespace Compositor.Input;

/// <summary>
/// The keymap every wl_keyboard receives: libxkbcommon compiles the default "us" layout (evdev rules, pc105) and
/// its text form goes into one memfd sealed against writing, shrinking, growing and further sealing, with its
/// terminating NUL, as wl_keyboard.keymap (xkb_v1) wants it. libwayland duplicates the fd for each client, so
/// every client maps the same read-only pages.
/// </summary>
public sealed unsafe partial class Keymap : IDisposable
{
    Keymap(FileDescriptorHandle fd, uint size) { Fd = fd; Size = size; }

    public FileDescriptorHandle Fd { get; }
    /// <summary>Bytes of the text, terminating NUL included.</summary>
    public uint Size { get; }

    /// <summary>Compiles the default keymap; throws <see cref="InvalidOperationException"/> when libxkbcommon is
    /// missing or cannot compile it (no xkeyboard-config data).</summary>
    public static Keymap CreateDefault(string layout = "us")
    {
        string text;
        try { text = Compile(layout); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new InvalidOperationException($"libxkbcommon.so.0 cannot be loaded ({e.Message}): install libxkbcommon0");
        }
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text + "\0");
        var fd = MemFd.Create("compositor-keymap", bytes.Length);
        try
        {
            using (var map = MemoryMapping.Map(fd, bytes.Length, MemoryProtection.Read | MemoryProtection.Write))
                bytes.CopyTo(map.Span);
            // The writable mapping is gone, so F_SEAL_WRITE is allowed now.
            MemFd.AddSeals(fd, FileSeals.Write | FileSeals.Shrink | FileSeals.Grow | FileSeals.Seal);
            return new Keymap(fd, (uint)bytes.Length);
        }
        catch { fd.Dispose(); throw; }
    }

    static string Compile(string layout)
    {
        nint ctx = xkb_context_new(0);
        if (ctx == 0) throw new InvalidOperationException("xkb_context_new failed");
        try
        {
            nint rules = Marshal.StringToCoTaskMemUTF8("evdev"), model = Marshal.StringToCoTaskMemUTF8("pc105"),
                 lay = Marshal.StringToCoTaskMemUTF8(layout);
            try
            {
                var names = new RuleNames { Rules = rules, Model = model, Layout = lay };
                nint keymap = xkb_keymap_new_from_names(ctx, &names, 0);
                if (keymap == 0) throw new InvalidOperationException($"xkb_keymap_new_from_names(evdev, pc105, {layout}) failed: is xkb-data installed?");
                try
                {
                    nint s = xkb_keymap_get_as_string(keymap, 1 /* XKB_KEYMAP_FORMAT_TEXT_V1 */);
                    if (s == 0) throw new InvalidOperationException("xkb_keymap_get_as_string failed");
                    try { return Marshal.PtrToStringUTF8(s)!; }
                    finally { free(s); }
                }
                finally { xkb_keymap_unref(keymap); }
            }
            finally { Marshal.FreeCoTaskMem(rules); Marshal.FreeCoTaskMem(model); Marshal.FreeCoTaskMem(lay); }
        }
        finally { xkb_context_unref(ctx); }
    }

    public void Dispose() => Fd.Dispose();

    [StructLayout(LayoutKind.Sequential)]
    struct RuleNames { public nint Rules, Model, Layout, Variant, Options; }

    const string Lib = "libxkbcommon.so.0";
    [LibraryImport(Lib)] private static partial nint xkb_context_new(int flags);
    [LibraryImport(Lib)] private static partial void xkb_context_unref(nint ctx);
    [LibraryImport(Lib)] private static partial nint xkb_keymap_new_from_names(nint ctx, RuleNames* names, int flags);
    [LibraryImport(Lib)] private static partial nint xkb_keymap_get_as_string(nint keymap, int format);
    [LibraryImport(Lib)] private static partial void xkb_keymap_unref(nint keymap);
    [LibraryImport("libc")] private static partial void free(nint p);
}
