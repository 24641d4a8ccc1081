using System.Runtime.InteropServices;

namespace Wayland.Interop;

/// <summary>One message of an interface as the generator describes it: name, libwayland signature, and the
/// interface of each signature argument (null where the argument is not an object with a fixed interface).</summary>
public readonly record struct MessageSpec(string Name, string Signature, nint[] Types);

/// <summary>
/// Builds the native wl_interface/wl_message tables at startup. Interfaces reference each other (and
/// themselves), so every struct is allocated first and filled afterwards. The memory lives as long as the process:
/// libwayland keeps pointers to it in every object.
/// </summary>
public static unsafe class InterfaceTable
{
    public static WlInterface* Allocate() => (WlInterface*)NativeMemory.AllocZeroed((nuint)sizeof(WlInterface));

    public static void Define(WlInterface* iface, string name, int version, MessageSpec[] requests, MessageSpec[] events)
    {
        iface->Name = Utf8(name);
        iface->Version = version;
        iface->MethodCount = requests.Length;
        iface->Methods = Messages(requests);
        iface->EventCount = events.Length;
        iface->Events = Messages(events);
    }

    static WlMessage* Messages(MessageSpec[] specs)
    {
        if (specs.Length == 0) return null;
        var msgs = (WlMessage*)NativeMemory.AllocZeroed((nuint)(sizeof(WlMessage) * specs.Length));
        for (int i = 0; i < specs.Length; i++)
        {
            msgs[i].Name = Utf8(specs[i].Name);
            msgs[i].Signature = Utf8(specs[i].Signature);
            var types = (WlInterface**)NativeMemory.AllocZeroed((nuint)(sizeof(nint) * Math.Max(1, specs[i].Types.Length)));
            for (int t = 0; t < specs[i].Types.Length; t++) types[t] = (WlInterface*)specs[i].Types[t];
            msgs[i].Types = types;
        }
        return msgs;
    }

    static byte* Utf8(string s) => (byte*)Marshal.StringToCoTaskMemUTF8(s);
}
