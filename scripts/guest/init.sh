#!/bin/sh
# /init of the irqslice real-guest initramfs (scripts/guest/initramfs.mjs). Reports over the serial
# console, in lines starting with "@@", what the kernel made of the PCI functions: IDs, driver,
# config space as the guest reads it, msi_irqs, /proc/interrupts. Then it prints @@READY and waits
# for one line on the console: the host raises its device-side events (PMEs) meanwhile, and the
# second report shows what the kernel counted. It powers off at the end.
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev 2>/dev/null

report() {
  for d in /sys/bus/pci/devices/*; do
    n=${d##*/}
    drv=none
    [ -e "$d/driver" ] && drv=$($B basename "$($B readlink "$d/driver")")
    echo "@@DEV $n $($B cat "$d/vendor") $($B cat "$d/device") $($B cat "$d/class") $drv"
    echo "@@CONFIG $n $($B hexdump -v -e '1/1 "%02x"' "$d/config")"
    if [ -d "$d/msi_irqs" ]; then
      for m in "$d"/msi_irqs/*; do
        [ -e "$m" ] && echo "@@MSI $n ${m##*/} $($B cat "$m")"
      done
    fi
  done
  echo "@@INTERRUPTS"
  $B cat /proc/interrupts
  echo "@@END-INTERRUPTS"
}

echo "@@PHASE boot"
report
echo "@@READY"
read -r _line
echo "@@PHASE after"
report
echo "@@DONE"
$B poweroff -f
