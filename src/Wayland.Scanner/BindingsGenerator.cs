using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Wayland.Scanner;

/// <summary>
/// The Roslyn entry point. A project lists its protocol XML as AdditionalFiles with the metadata
/// <c>WaylandSide</c> ("Server", "Client" or "Server,Client": a semicolon would start a comment in the generated .editorconfig); the namespace of each side comes from the MSBuild
/// properties <c>WaylandServerNamespace</c> / <c>WaylandClientNamespace</c>. All XML of one side is one closed set.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class BindingsGenerator : IIncrementalGenerator
{
    static readonly DiagnosticDescriptor BadProtocol = new("WLS001", "Invalid protocol XML",
        "{0}: {1}", "Wayland.Scanner", DiagnosticSeverity.Error, isEnabledByDefault: true);

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var files = context.AdditionalTextsProvider
            .Where(f => f.Path.EndsWith(".xml", StringComparison.OrdinalIgnoreCase))
            .Combine(context.AnalyzerConfigOptionsProvider)
            .Select((pair, ct) =>
            {
                var opts = pair.Right.GetOptions(pair.Left);
                opts.TryGetValue("build_metadata.AdditionalFiles.WaylandSide", out var side);
                return (Path: pair.Left.Path, Text: pair.Left.GetText(ct)?.ToString() ?? "", Side: side ?? "");
            })
            .Where(f => f.Side.Length > 0)
            .Collect();
        var namespaces = context.AnalyzerConfigOptionsProvider.Select((p, _) =>
        {
            p.GlobalOptions.TryGetValue("build_property.WaylandServerNamespace", out var s);
            p.GlobalOptions.TryGetValue("build_property.WaylandClientNamespace", out var c);
            return (Server: string.IsNullOrEmpty(s) ? "Wayland.Server.Protocol" : s!, Client: string.IsNullOrEmpty(c) ? "Wayland.Client.Protocol" : c!);
        });
        context.RegisterSourceOutput(files.Combine(namespaces), (spc, input) => Generate(spc, input.Left, input.Right));
    }

    static void Generate(SourceProductionContext spc, ImmutableArray<(string Path, string Text, string Side)> files, (string Server, string Client) ns)
    {
        foreach (var side in new[] { Side.Server, Side.Client })
        {
            var protocols = new List<Protocol>();
            bool failed = false;
            foreach (var f in files.Where(f => f.Side.Split(',', ';').Any(s => s.Trim().Equals(side.ToString(), StringComparison.OrdinalIgnoreCase))).OrderBy(f => f.Path, StringComparer.Ordinal))
            {
                try { protocols.Add(ProtocolParser.Parse(f.Text)); }
                catch (Exception e) { Report(spc, f.Path, e.Message); failed = true; }
            }
            if (failed || protocols.Count == 0) continue;
            try
            {
                string n = side == Side.Server ? ns.Server : ns.Client;
                foreach (var (hint, source) in new BindingEmitter(protocols, side, n).Emit().ToList())
                    spc.AddSource($"{side}.{hint}", SourceText.From(source, System.Text.Encoding.UTF8));
            }
            catch (Exception e) { Report(spc, side + " bindings", e.Message); }
        }
    }

    static void Report(SourceProductionContext spc, string where, string message) =>
        spc.ReportDiagnostic(Diagnostic.Create(BadProtocol, Location.None, Path.GetFileName(where), message));
}
