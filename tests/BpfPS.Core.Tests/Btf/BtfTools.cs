using System.Diagnostics;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Tests.Btf;

/// <summary>External tools the BTF tests compare against (bpftool, clang), found on PATH or in sbin; tests skip without them.</summary>
internal static class BtfTools
{
    public static bool HaveVmlinux => File.Exists(KernelBtf.VmlinuxPath);

    public static bool IsRoot => Environment.UserName == "root" || GetEuid() == 0;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();

    /// <summary>Full path of <paramref name="name"/>, or null.</summary>
    public static string? Find(params string[] names)
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin"]);
        foreach (var name in names)
            foreach (var dir in dirs)
            {
                var path = Path.Combine(dir, name);
                if (File.Exists(path))
                    return path;
            }
        return null;
    }

    public static string? Bpftool => Find("bpftool");

    /// <summary>Runs a tool; returns exit code, stdout and stderr.</summary>
    public static (int Code, string Out, string Err) Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }
}
