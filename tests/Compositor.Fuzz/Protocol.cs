using System.Reflection;
using Wayland.Interop;

namespace Compositor.Fuzz;

/// <summary>One argument of a request or event, from a wl_message signature and its types array.</summary>
public sealed record ArgSpec(char Type, bool Nullable, IfaceSpec? Iface);

/// <summary>One request or event: its opcode, the version it appeared in, its arguments.</summary>
public sealed record MsgSpec(int Opcode, string Name, int Since, ArgSpec[] Args)
{
    /// <summary>The wl_message tables do not mark destructors; in every protocol the set has, the destructor
    /// requests are exactly those named destroy or release.</summary>
    public bool IsDestructor => Name is "destroy" or "release";
}

public sealed unsafe class IfaceSpec
{
    public required string Name { get; init; }
    public required WlInterface* Native { get; init; }
    public int Version => Native->Version;
    public MsgSpec[] Requests { get; internal set; } = [];
    public MsgSpec[] Events { get; internal set; } = [];
    public MsgSpec? Request(string name) => Requests.FirstOrDefault(r => r.Name == name);
    public override string ToString() => Name;
}

/// <summary>
/// Every interface of the client binding set, read back from the native tables the generator emits
/// (Wayland.Client.Protocol.Interfaces): signatures, since-versions and argument interfaces come from the same
/// data libwayland marshals with, so a protocol added to the set is fuzzed without code here.
/// </summary>
public static unsafe class ProtocolSet
{
    static readonly Lazy<Dictionary<string, IfaceSpec>> _all = new(Load);
    public static IReadOnlyDictionary<string, IfaceSpec> All => _all.Value;
    public static IfaceSpec Get(string name) => All[name];

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "the fuzzer runs under the JIT")]
    static Dictionary<string, IfaceSpec> Load()
    {
        var byPtr = new Dictionary<nint, IfaceSpec>();
        var type = typeof(Wayland.Client.Protocol.Interfaces);
        foreach (var f in type.GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var p = (WlInterface*)Pointer.Unbox(f.GetValue(null)!);
            byPtr[(nint)p] = new IfaceSpec { Name = p->NameString, Native = p };
        }
        foreach (var s in byPtr.Values)
        {
            s.Requests = Messages(s.Native->Methods, s.Native->MethodCount, byPtr);
            s.Events = Messages(s.Native->Events, s.Native->EventCount, byPtr);
        }
        return byPtr.Values.ToDictionary(s => s.Name);
    }

    static MsgSpec[] Messages(WlMessage* m, int count, Dictionary<nint, IfaceSpec> byPtr)
    {
        var list = new MsgSpec[count];
        for (int i = 0; i < count; i++)
        {
            string sig = Utf8Arg.Read(m[i].Signature) ?? "";
            int since = 0, pos = 0;
            while (pos < sig.Length && char.IsAsciiDigit(sig[pos])) since = since * 10 + (sig[pos++] - '0');
            var args = new List<ArgSpec>();
            bool nullable = false;
            for (; pos < sig.Length; pos++)
            {
                char c = sig[pos];
                if (c == '?') { nullable = true; continue; }
                var t = (nint)m[i].Types[args.Count];
                args.Add(new ArgSpec(c, nullable, t == 0 ? null : byPtr.GetValueOrDefault(t)));
                nullable = false;
            }
            list[i] = new MsgSpec(i, Utf8Arg.Read(m[i].Name) ?? "", Math.Max(1, since), args.ToArray());
        }
        return list;
    }
}
