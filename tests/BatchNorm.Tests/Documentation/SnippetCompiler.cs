using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace BatchNorm.Tests.Documentation;

/// <summary>
/// Compiles a C# snippet with Roslyn as a console program of top-level statements, against the runtime's trusted
/// platform assemblies (which under the test host include this test project's dependencies: BatchNorm, BatchNorm.Mpi,
/// System.Numerics.Tensors), and runs it in a collectible load context of this process.
/// </summary>
public static class SnippetCompiler
{
    private static readonly Lazy<MetadataReference[]> s_references = new(LoadReferences);

    /// <summary>
    /// Compiles <paramref name="code"/>; <paramref name="file"/> and <paramref name="firstLine"/> place its lines in
    /// the diagnostics (the line of the code's first line in that file). Nullable annotations are on, implicit usings
    /// off (a snippet states its own), and warnings count as errors.
    /// </summary>
    /// <returns>The assembly's bytes, or null with the diagnostics that stopped it.</returns>
    public static byte[]? Compile(string code, string file, int firstLine, out IReadOnlyList<string> diagnostics)
    {
        string source = $"#line {firstLine} \"{file}\"\n{code}\n";
        SyntaxTree tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest));
        var options = new CSharpCompilationOptions(
            OutputKind.ConsoleApplication,
            optimizationLevel: OptimizationLevel.Release,
            nullableContextOptions: NullableContextOptions.Enable,
            generalDiagnosticOption: ReportDiagnostic.Error);
        CSharpCompilation compilation = CSharpCompilation.Create(
            "Snippet_" + Guid.NewGuid().ToString("N"), [tree], s_references.Value, options);
        using var image = new MemoryStream();
        Microsoft.CodeAnalysis.Emit.EmitResult result = compilation.Emit(image);
        diagnostics = result.Diagnostics
            .Where(d => d.Severity >= DiagnosticSeverity.Warning || d.IsWarningAsError)
            .Select(d => d.ToString())
            .ToList();
        return result.Success ? image.ToArray() : null;
    }

    /// <summary>
    /// Runs a compiled snippet's entry point on a thread of its own and waits at most <paramref name="timeout"/>.
    /// </summary>
    /// <returns>Null when it returned normally (exit code 0 or no exit code); otherwise what went wrong.</returns>
    public static string? Run(byte[] assembly, TimeSpan timeout)
    {
        var context = new AssemblyLoadContext("snippet", isCollectible: true);
        try
        {
            MethodInfo entry = context.LoadFromStream(new MemoryStream(assembly)).EntryPoint
                ?? throw new InvalidOperationException("The compiled snippet has no entry point.");
            object?[]? arguments = entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()];
            Exception? failure = null;
            object? exitCode = null;
            var thread = new Thread(() =>
            {
                try
                {
                    exitCode = entry.Invoke(null, arguments);
                }
                catch (TargetInvocationException e)
                {
                    failure = e.InnerException ?? e;
                }
            })
            {
                IsBackground = true, // a snippet that never returns must not keep the test host alive
                Name = "snippet",
            };
            thread.Start();
            if (!thread.Join(timeout))
            {
                return $"it did not return within {timeout.TotalSeconds} s";
            }

            if (failure is not null)
            {
                return $"it threw {failure}";
            }

            return exitCode is int code && code != 0 ? $"it returned exit code {code}" : null;
        }
        finally
        {
            context.Unload();
        }
    }

    private static MetadataReference[] LoadReferences()
    {
        var paths = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string trusted = AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? string.Empty;
        IEnumerable<string> own = new[] { typeof(BatchNorm1d<>), typeof(BatchNorm.Mpi.MpiEnvironment), typeof(System.Numerics.Tensors.Tensor) }
            .Select(type => type.Assembly.Location);
        foreach (string path in trusted.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Concat(own))
        {
            paths.TryAdd(Path.GetFileNameWithoutExtension(path), path);
        }

        return paths.Values.Select(path => (MetadataReference)MetadataReference.CreateFromFile(path)).ToArray();
    }
}
