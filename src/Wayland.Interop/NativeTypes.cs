using System.Runtime.InteropServices;
using System.Text;

namespace Wayland.Interop;

/// <summary>struct wl_interface.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct WlInterface
{
    public byte* Name;
    public int Version;
    public int MethodCount;
    public WlMessage* Methods;
    public int EventCount;
    public WlMessage* Events;

    public readonly string NameString => Utf8Arg.Read(Name) ?? "";
}

/// <summary>struct wl_message.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct WlMessage
{
    public byte* Name;
    public byte* Signature;
    public WlInterface** Types;
}

/// <summary>union wl_argument: eight bytes, one member used per argument.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public unsafe struct WlArgument
{
    [FieldOffset(0)] public int I;
    [FieldOffset(0)] public uint U;
    [FieldOffset(0)] public byte* S;
    [FieldOffset(0)] public nint O;
    [FieldOffset(0)] public uint N;
    [FieldOffset(0)] public WlArray* A;
    [FieldOffset(0)] public int H;
}

/// <summary>struct wl_array: size_t size, size_t alloc, void* data (not ints: on 64-bit they are 8 bytes each).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct WlArray
{
    public nuint Size;
    public nuint Alloc;
    public byte* Data;

    public readonly ReadOnlySpan<byte> AsSpan() => Data == null ? default : new ReadOnlySpan<byte>(Data, checked((int)Size));

    /// <summary>A wl_array over memory the caller keeps pinned for the duration of one marshalling call.</summary>
    public static WlArray Borrow(byte* data, int length) => new() { Size = (nuint)length, Alloc = (nuint)length, Data = data };
}

/// <summary>wl_fixed_t: a signed 24.8 fixed-point number.</summary>
public readonly record struct Fixed(int Raw)
{
    public static Fixed FromDouble(double d) => new((int)Math.Round(d * 256.0));
    public static Fixed FromInt(int i) => new(i * 256);
    public double ToDouble() => Raw / 256.0;
    public int ToInt() => Raw / 256;
    public override string ToString() => ToDouble().ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A string argument as a NUL-terminated UTF-8 copy in native memory, for one marshalling call.</summary>
public unsafe ref struct Utf8Arg
{
    public byte* Pointer { get; private set; }

    public Utf8Arg(string? s)
    {
        if (s == null) { Pointer = null; return; }
        int n = Encoding.UTF8.GetByteCount(s);
        Pointer = (byte*)NativeMemory.Alloc((nuint)n + 1);
        Encoding.UTF8.GetBytes(s, new Span<byte>(Pointer, n));
        Pointer[n] = 0;
    }

    public void Dispose()
    {
        if (Pointer != null) NativeMemory.Free(Pointer);
        Pointer = null;
    }

    public static string? Read(byte* p) => p == null ? null : Marshal.PtrToStringUTF8((nint)p);
}

/// <summary>A wl_interface table entry, passed around without unsafe code (globals, resource creation).</summary>
public readonly unsafe struct InterfaceDescriptor(WlInterface* pointer)
{
    public WlInterface* Pointer { get; } = pointer;
    public string Name => Pointer->NameString;
    public int Version => Pointer->Version;
}
